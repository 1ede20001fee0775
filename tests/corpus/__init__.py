"""Malformed county files, generated at test time from one good workbook (and the .xls and .ods
LibreOffice saves from it).

``write_corpus(folder, good)`` writes every case into ``folder`` and returns what each should
come to: a rule the file is rejected with, or ``accepted`` where reading it is meaningful. Every
file has distinct bytes, so one ingest over the folder sees no duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCEPTED = "accepted"
REGION_YEAR_INFO = ("行政区划代码", "统计年度")
CSV_HEADER = ["行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明"]
BIG5_HEADER = ["行政區劃代碼", "統計年度", "指標代碼", "本年值", "分子", "分母", "說明"]
FAR_CELL = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
WIDE_CELL = '<row r="200"><c r="XFD200"><v>1</v></c></row>'
# The reader matches tag names without their prefix and places cells without "r" one after
# the other: both defeat a scan that only looks for '<c r="…"'.
PREFIXED_FAR_CELL = ('<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                     ' r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>')
UNREFERENCED_WIDE_ROW = '<row r="200">' + "<c><v>1</v></c>" * 20_000 + "</row>"


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # the rule among the errors, or ACCEPTED
    what: str
    make: Callable[[Source, Path], None] = field(repr=False)
    in_batch: bool = True  # False: same bytes as another case, so kept out of the folder ingest


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def good_rows(good: Path) -> list[list[str]]:
    """The good workbook as CSV records: the CSV form of the same submission."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(good))
    info = {_cell(r[0]): _cell(r[1]) for r in book.get_sheet_by_name("填报信息").to_python()
            if len(r) > 1}
    region, year = (info[k] for k in REGION_YEAR_INFO)
    rows = book.get_sheet_by_name("指标数据").to_python(skip_empty_area=False)
    start = next(i for i, r in enumerate(rows) if "指标代码" in r)
    header = {_cell(c): i for i, c in enumerate(rows[start])}
    out = [list(CSV_HEADER)]
    for row in rows[start + 1:]:
        code = _cell(row[header["指标代码"]])
        if code:
            out.append([region, year, code, *(_cell(row[header[c]]) for c in
                                              ("本年值", "分子", "分母", "说明"))])
    return out


def csv_bytes(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _edit_workbook(good: Path, target: Path, edit: Callable[..., None]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(good)
    edit(wb)
    wb.save(target)


def _reporter(name: str) -> Callable[..., None]:
    def edit(wb: Any) -> None:
        wb["填报信息"]["B5"] = name
    return edit


def _data_rows(wb: Any) -> dict[str, int]:
    ws = wb["指标数据"]
    return {c.value: c.row for c in ws["A"]
            if isinstance(c.value, str) and c.value.startswith("ZB")}


def _formulas(wb: Any) -> None:
    ws, rows = wb["指标数据"], _data_rows(wb)
    codes = sorted(rows)
    ws[f"E{rows[codes[0]]}"] = "=1+1"
    ws[f"E{rows[codes[1]]}"] = '=HYPERLINK("http://example.com/x","95")'
    ws[f"F{rows[codes[2]]}"] = "=SUM(1,2)"


def _merged(wb: Any) -> None:
    ws, rows = wb["指标数据"], _data_rows(wb)
    first = rows[sorted(rows)[3]]
    ws.merge_cells(f"E{first}:E{first + 3}")


def _hide_data(wb: Any) -> None:
    wb["指标数据"].sheet_state = "hidden"
    wb.active = 0


def _hidden_extra(wb: Any) -> None:
    ws = wb.create_sheet("备用")
    ws["A1"] = "不给人看的表"
    ws.sheet_state = "veryHidden"


def _long_note(data: bytes) -> bytes:
    """About 2 MB of UTF-8 in the first 说明 cell (openpyxl would cut it to Excel's 32,767)."""
    cell = '<c r="H4" t="inlineStr"><is><t>' + "长" * 700_000 + "</t></is></c>"
    found = re.search(rb'<c r="H4"[^>]*?(?:/>|>.*?</c>)', data)
    if found:
        return data[:found.start()] + cell.encode() + data[found.end():]
    return data.replace(b'<c r="G4"', cell.encode() + b'<c r="G4"', 1)


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None],
             extra: dict[str, bytes] | None = None, level: int = 6) -> None:
    """Copy a zip part by part; ``change`` returns new bytes for a part (None drops it)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)


def data_part(path: Path) -> str:
    """The zip part holding sheet 指标数据, via workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet [^>]*name="指标数据"[^>]*r:id="(\w+)"', workbook)[1]
    target = re.search(rf'Target="([^"]+)"[^>]*Id="{rid}"|Id="{rid}"[^>]*Target="([^"]+)"', rels)
    found = target[1] or target[2]
    return found.lstrip("/") if found.startswith("/") else "xl/" + found


def _sheet_edit(good: Path, target: Path, edit: Callable[[bytes], bytes]) -> None:
    part = data_part(good)
    _rewrite(good, target, lambda name, data: edit(data) if name == part else data)


def _append_rows(xml: str) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(b"</sheetData>", xml.encode() + b"</sheetData>")


def _many_rows(data: bytes) -> bytes:
    last = max(int(n) for n in re.findall(rb'<row r="(\d+)"', data))
    rows = "".join(f'<row r="{r}"><c r="I{r}"><v>1</v></c></row>'
                   for r in range(last + 1, last + 150_001))
    return _append_rows(rows)(data)


def _entities(data: bytes) -> bytes:
    """Billion laughs: nine levels of ten references each, used in one cell."""
    lol = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    data = _append_rows('<row r="999"><c r="A999" t="inlineStr"><is><t>&l9;</t></is></c></row>')(
        data)
    at = data.index(b"<worksheet")
    return data[:at] + f"<!DOCTYPE worksheet [{lol}]>".encode() + data[at:]


def _macro(name: str, data: bytes) -> bytes:
    """What Excel writes for a macro-enabled workbook, besides xl/vbaProject.bin."""
    if name == "[Content_Types].xml":
        return data.replace(b"spreadsheetml.sheet.main+xml",
                            b"ms-excel.sheet.macroEnabled.main+xml").replace(
            b"</Types>", b'<Default Extension="bin" ContentType="application/'
            b'vnd.ms-office.vbaProject"/></Types>')
    return data


def _vba(seed: str) -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(seed).randbytes(4096)


def _bomb_size(good: Path, target: Path) -> None:
    """A part that inflates to 200 MB: the declared size gives it away."""
    _rewrite(good, target, lambda _n, d: d)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("xl/media/image1.png", "w") as fh:
        block = bytes(1 << 20)
        for _ in range(200):
            fh.write(block)


def _bomb_members(good: Path, target: Path) -> None:
    extra = {f"customXml/item{i}.xml": b"<a/>" for i in range(5000)}
    _rewrite(good, target, lambda _n, d: d, extra=extra)


def _bomb_lying(good: Path, target: Path) -> None:
    """The data sheet inflates to 30 MB but its headers claim its original size."""
    part = data_part(good)
    with zipfile.ZipFile(good) as zf:
        original = zf.read(part)
    padded = original.replace(b"</worksheet>", b" " * 30_000_000 + b"</worksheet>")
    _rewrite(good, target, lambda name, data: padded if name == part else data)
    raw = bytearray(target.read_bytes())
    name = part.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at:name_at + len(name)] == name:
                raw[at + size_at:at + size_at + 4] = struct.pack("<L", len(original))
            at = raw.find(signature, at + 4)
    target.write_bytes(bytes(raw))


# legacy Excel and OpenDocument ---------------------------------------------------------------
# Written here from [MS-CFB], [MS-XLS] and OpenDocument 1.2 independently of planstats.intake.


def _ole_streams(data: bytes) -> dict[str, tuple[int, list[int]]]:
    """Stream name → (directory entry offset, file offsets of its sectors), for files whose
    FAT fits the header's 109 DIFAT slots (every test file does)."""
    shift = struct.unpack("<H", data[30:32])[0]
    size = 1 << shift
    fat_count, first_dir = struct.unpack("<LL", data[44:52])
    fat: list[int] = []
    for sector in struct.unpack("<109L", data[76:512])[:fat_count]:
        at = (sector + 1) * size
        fat += struct.unpack(f"<{size // 4}L", data[at:at + size])

    def chain(start: int) -> list[int]:
        out = []
        while start < 0xFFFFFFFA:
            out.append((start + 1) * size)
            start = fat[start]
        return out

    streams = {}
    for block in chain(first_dir):
        for at in range(block, block + size, 128):
            length = struct.unpack("<H", data[at + 64:at + 66])[0]
            name = data[at:at + max(length - 2, 0)].decode("utf-16-le")
            start, stream_size = struct.unpack("<LL", data[at + 116:at + 124])
            if data[at + 66] == 2 and stream_size >= 4096:  # a stream in regular sectors
                streams[name] = (at, chain(start))
    return streams


class _Stream:
    """The Workbook stream of an .xls, patched in place through its sectors."""

    def __init__(self, data: bytes) -> None:
        self.raw = bytearray(data)
        self.entry, self.sectors = _ole_streams(data)["Workbook"]
        self.size = 1 << struct.unpack("<H", data[30:32])[0]

    def _at(self, offset: int) -> int:
        return self.sectors[offset // self.size] + offset % self.size

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.raw[self._at(offset + i)] for i in range(length))

    def write(self, offset: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.raw[self._at(offset + i)] = byte

    def records(self) -> list[tuple[int, int, int]]:
        """(offset, type, length) of every record."""
        out, at = [], 0
        total = len(self.sectors) * self.size
        while at + 4 <= total:
            kind, length = struct.unpack("<HH", self.read(at, 4))
            if kind == 0 and length == 0:
                break  # padding after the last record
            out.append((at, kind, length))
            at += 4 + length
        return out

    def first(self, kind: int, nth: int = 0) -> int:
        return [at for at, k, _ in self.records() if k == kind][nth]


def _xls_edit(edit: Callable[[_Stream], None]) -> Writer:
    def write(src: Source, path: Path) -> None:
        stream = _Stream(src.xls)
        edit(stream)
        path.write_bytes(bytes(stream.raw))
    return write


def _far_dimensions(s: _Stream) -> None:
    """DIMENSIONS of every sheet claim a billion rows (the reader sizes its grid by them)."""
    for at, kind, _ in s.records():
        if kind == 0x0200:
            s.write(at + 8, struct.pack("<L", 1_000_000_000))


def _far_xls_cell(s: _Stream) -> None:
    """The last NUMBER cell moved to row 65536, column IV (the last BIFF8 cell)."""
    at = [a for a, k, _ in s.records() if k == 0x0203][-1]
    s.write(at + 4, struct.pack("<HH", 65535, 255))


def _sst_bomb(s: _Stream) -> None:
    s.write(s.first(0x00FC) + 8, struct.pack("<L", 0x7FFFFFFF))


def _filepass(s: _Stream) -> None:
    """The record after the workbook's BOF becomes FILEPASS: the workbook is encrypted."""
    s.write(s.records()[1][0], struct.pack("<H", 0x002F))


def _looping_chain(s: _Stream) -> None:
    """The Workbook stream's sector chain points back at its own start."""
    data = s.raw
    fat_first = struct.unpack("<L", data[76:80])[0]
    start = struct.unpack("<L", data[s.entry + 116:s.entry + 120])[0]
    second = s.sectors[1] // s.size - 1
    at = (fat_first + 1) * s.size + 4 * second
    data[at:at + 4] = struct.pack("<L", start)


def _not_a_workbook_stream(s: _Stream) -> None:
    """The Workbook stream renamed, as in a Word document renamed to .xls."""
    name = "WordDocument".encode("utf-16-le") + b"\0\0"
    s.raw[s.entry:s.entry + 66] = name.ljust(64, b"\0") + struct.pack("<H", len(name))


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_FAR_ROW = ('<table:table-row table:number-rows-repeated="1048576"><table:table-cell '
                'office:value-type="float" office:value="1" table:number-columns-repeated="1024">'
                "<text:p>1</text:p></table:table-cell></table:table-row>")
_ODS_WIDE_ROW = ('<table:table-row><table:table-cell office:value-type="float" office:value="1" '
                 'table:number-columns-repeated="200000"><text:p>1</text:p></table:table-cell>'
                 "</table:table-row>")


def _ods(change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None,
         mimetype: bytes = ODS_MIMETYPE) -> Writer:
    """Rewrite the good .ods part by part, its mimetype first and stored as ODF requires."""
    def write(src: Source, path: Path) -> None:
        with zipfile.ZipFile(io.BytesIO(src.ods)) as zin, zipfile.ZipFile(path, "w") as zout:
            zout.writestr(zipfile.ZipInfo("mimetype"), mimetype, zipfile.ZIP_STORED)
            for info in zin.infolist():
                if info.filename == "mimetype":
                    continue
                data = change(info.filename, zin.read(info))
                if data is not None:
                    zout.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
            for name, data in (extra or {}).items():
                zout.writestr(name, data, zipfile.ZIP_DEFLATED)
    return write


def _content(edit: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    return lambda name, data: edit(data) if name == "content.xml" else data


def _append_to_first_table(xml: str) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(b"</table:table>", xml.encode() + b"</table:table>", 1)


def _first_row(xml: str) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(b"<table:table-row", xml.encode() + b"<table:table-row", 1)


def _ods_entities(data: bytes) -> bytes:
    at = data.index(b"<office:document-content")
    return data[:at] + b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + data[at:]


def _ods_bomb(src: Source, path: Path) -> None:
    _ods(lambda _n, d: d)(src, path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("Pictures/big.png", "w") as fh:
        block = bytes(1 << 20)
        for _ in range(200):
            fh.write(block)


def _encrypted_manifest(name: str, data: bytes) -> bytes:
    if name != "META-INF/manifest.xml":
        return data
    return data.replace(b'manifest:full-path="content.xml"', b'manifest:full-path="content.xml">'
                        b"<manifest:encryption-data/></manifest:file-entry><manifest:file-entry "
                        b'manifest:full-path="x"', 1)


@dataclass(frozen=True)
class Source:
    """The good workbook every case is made from, and what LibreOffice saved from it."""

    good: Path
    data: bytes
    rows: list[list[str]]  # the same submission as CSV records
    max_file_mb: float
    xls: bytes = b""
    ods: bytes = b""


Writer = Callable[[Source, Path], None]


def _bytes(make: Callable[[Source], bytes]) -> Writer:
    return lambda src, path: path.write_bytes(make(src)) and None


def _from_good(edit: Callable[[Any], None]) -> Writer:
    return lambda src, path: _edit_workbook(src.good, path, edit)


def _sheet(edit: Callable[[bytes], bytes]) -> Writer:
    return lambda src, path: _sheet_edit(src.good, path, edit)


def _with_macro(seed: str) -> Writer:
    return lambda src, path: _rewrite(src.good, path, _macro, {"xl/vbaProject.bin": _vba(seed)})


def _long_csv_cell(src: Source) -> bytes:
    first = list(src.rows[1])
    first[-1] = "x" * 2_000_000
    return csv_bytes([src.rows[0], first, *src.rows[2:]])


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.truncate(size)


CASES: tuple[Case, ...] = (
    Case("empty.xlsx", "file_unreadable", "0 bytes", _bytes(lambda s: b"")),
    Case("empty.csv", "file_unreadable", "0 bytes", _bytes(lambda s: b""), in_batch=False),
    Case("truncated.xlsx", "file_unreadable", "first half of a good workbook",
         _bytes(lambda s: s.data[:len(s.data) // 2])),
    Case("html.xlsx", "file_unreadable", "HTML table saved as .xlsx", _bytes(
        lambda s: "<html><body><table><tr><td>指标代码</td></tr></table></body></html>".encode())),
    Case("legacy.xlsx", "file_unreadable", "OLE2 bytes (.xls or encrypted) named .xlsx",
         _bytes(lambda s: _vba("legacy"))),
    Case("random.csv", "file_encoding", "64 KB of random bytes",
         _bytes(lambda s: random.Random("random.csv").randbytes(65_536))),
    Case("semicolon.csv", ACCEPTED, "semicolon-separated (European Excel)",
         _bytes(lambda s: csv_bytes(s.rows, ";"))),
    Case("tab.csv", ACCEPTED, "tab-separated, UTF-8 with BOM",
         _bytes(lambda s: csv_bytes(s.rows, "\t", "utf-8-sig"))),
    Case("utf16.csv", ACCEPTED, "Excel 'Unicode text': UTF-16 LE with BOM, tab-separated",
         _bytes(lambda s: csv_bytes(s.rows, "\t", "utf-16"))),
    Case("utf16-nobom.csv", "file_encoding", "UTF-16 LE without BOM",
         _bytes(lambda s: csv_bytes(s.rows, ",", "utf-16-le"))),
    Case("big5.csv", "file_encoding", "traditional headers, Big5 bytes",
         _bytes(lambda s: csv_bytes([BIG5_HEADER, *s.rows[1:]], ",", "big5"))),
    Case("workbook.csv", "file_type", "an xlsx renamed to .csv", _from_good(_reporter("改名"))),
    Case("long-cell.csv", "cell_too_long", "one 2 MB cell (说明)", _bytes(_long_csv_cell)),
    Case("long-cell.xlsx", "cell_too_long", "one 2 MB cell (说明)", _sheet(_long_note)),
    Case("million-rows.csv", "too_many_rows", "10^6 rows", _bytes(
        lambda s: csv_bytes([s.rows[0]]) + b"5,2,Z,1\r\n" * 1_000_000)),
    Case("many-rows.xlsx", "too_many_rows", "150,000 rows in 指标数据", _sheet(_many_rows)),
    Case("far-cell.xlsx", "too_many_rows", "one cell at XFD1048576: a 17e9-cell range",
         _sheet(_append_rows(FAR_CELL))),
    Case("wide.xlsx", "sheet_too_large", "one cell at XFD200", _sheet(_append_rows(WIDE_CELL))),
    Case("prefixed-far-cell.xlsx", "too_many_rows", "<x:c r=\"XFD1048576\">: a prefixed far cell",
         _sheet(_append_rows(PREFIXED_FAR_CELL))),
    Case("unreferenced-wide.xlsx", "sheet_too_large", "20,000 cells without r in row 200",
         _sheet(_append_rows(UNREFERENCED_WIDE_ROW))),
    Case("entities.xlsx", "file_unreadable", "billion-laughs DOCTYPE in the data sheet",
         _sheet(_entities)),
    Case("formulas.xlsx", "formula", "=1+1, =HYPERLINK(...) in 本年值, =SUM(...) in 分子",
         _from_good(_formulas)),
    Case("merged.xlsx", "merged_cells", "本年值 merged over four indicator rows",
         _from_good(_merged)),
    Case("hidden-data.xlsx", "hidden_sheet", "sheet 指标数据 hidden", _from_good(_hide_data)),
    Case("hidden-extra.xlsx", ACCEPTED, "an extra veryHidden sheet, never read",
         _from_good(_hidden_extra)),
    Case("macro.xlsm", "macro", ".xlsm with xl/vbaProject.bin", _with_macro("xlsm")),
    Case("macro-renamed.xlsx", "macro", "macro-enabled content type + vbaProject.bin as .xlsx",
         _with_macro("renamed")),
    Case("bomb-size.xlsx", "zip_bomb", "a part that inflates to 200 MB",
         lambda s, path: _bomb_size(s.good, path)),
    Case("bomb-members.xlsx", "zip_bomb", "5,000 zip members",
         lambda s, path: _bomb_members(s.good, path)),
    Case("bomb-lying.xlsx", "file_unreadable", "data sheet inflates to 30 MB, headers say 80 KB",
         lambda s, path: _bomb_lying(s.good, path)),
    Case("big.csv", "file_too_large", "1 MB over PLANSTATS_MAX_FILE_MB (sparse file)",
         lambda s, path: _sparse(path, int((s.max_file_mb + 1) * (1 << 20)))),
    Case("saved.xls", ACCEPTED, "the good workbook re-saved as .xls by LibreOffice",
         _bytes(lambda s: s.xls)),
    Case("saved.ods", ACCEPTED, "the good workbook re-saved as .ods by LibreOffice",
         _bytes(lambda s: s.ods)),
    Case("xls-named.xlsx", ACCEPTED, "an .xls renamed to .xlsx: read as what it is",
         _bytes(lambda s: s.xls), in_batch=False),
    Case("truncated.xls", "file_unreadable", "first half of the .xls",
         _bytes(lambda s: s.xls[:len(s.xls) // 2])),
    Case("loop.xls", "file_unreadable", "the Workbook stream's sector chain loops",
         _xls_edit(_looping_chain)),
    Case("far-dimensions.xls", "too_many_rows", "DIMENSIONS claim 10^9 rows",
         _xls_edit(_far_dimensions)),
    Case("far-cell.xls", "sheet_too_large", "a cell at IV65536: a 16.7e6-cell range",
         _xls_edit(_far_xls_cell)),
    Case("sst-bomb.xls", "file_unreadable", "the string table claims 2^31 strings",
         _xls_edit(_sst_bomb)),
    Case("encrypted.xls", "file_unreadable", "FILEPASS: a password-protected .xls",
         _xls_edit(_filepass)),
    Case("word.xls", "file_type", "an OLE2 file without a Workbook stream (a .doc renamed)",
         _xls_edit(_not_a_workbook_stream)),
    Case("truncated.ods", "file_unreadable", "first half of the .ods",
         _bytes(lambda s: s.ods[:len(s.ods) // 2])),
    Case("far-cell.ods", "too_many_rows", "a filled row repeated 1,048,576 times",
         _ods(_content(_append_to_first_table(_ODS_FAR_ROW)))),
    Case("wide.ods", "sheet_too_large", "a first row: a filled cell over 200,000 columns",
         _ods(_content(_first_row(_ODS_WIDE_ROW)))),
    Case("entities.ods", "file_unreadable", "a DOCTYPE in content.xml",
         _ods(_content(_ods_entities))),
    Case("bomb-size.ods", "zip_bomb", "a part that inflates to 200 MB", _ods_bomb),
    Case("macro.ods", "macro", "a Basic macro module", _ods(
        lambda _n, d: d, {"Basic/Standard/Module1.xml": b"<script:module/>"})),
    Case("encrypted.ods", "file_unreadable", "an encrypted package (manifest encryption-data)",
         _ods(_encrypted_manifest)),
    Case("text.ods", "file_unreadable", "an OpenDocument text renamed to .ods",
         _ods(lambda _n, d: d, mimetype=b"application/vnd.oasis.opendocument.text")),
    Case("wps.et", "file_type", "WPS 表格's own format", _bytes(lambda s: s.xls + b"et")),
    Case("mac.numbers", "file_type", "Apple Numbers", _bytes(lambda s: b"PK\x03\x04numbers")),
    Case("恩阳区 2023..年度（修订版）　最终 .xlsx", ACCEPTED,
         "spaces, '..' and full-width characters in the name", _from_good(_reporter("全角"))),
)


def write_corpus(folder: Path, good: Path, max_file_mb: float = 20,
                 saved: dict[str, Path] | None = None) -> list[Case]:
    """Write every case into ``folder``; ``good`` is a filled template that is accepted, and
    ``saved`` the .xls and .ods LibreOffice saved from it."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = saved or {}
    src = Source(good, good.read_bytes(), good_rows(good), max_file_mb,
                 *(saved[k].read_bytes() if k in saved else b"" for k in ("xls", "ods")))
    for case in CASES:
        case.make(src, folder / case.name)
    return list(CASES)


def write_symlinks(folder: Path, outside: Path, inside: Path) -> list[Path]:
    """Links a county could leave in its folder: to a file outside the inbox, and beside it."""
    links = [folder / "link-outside.xlsx", folder / "link-inside.xlsx"]
    os.symlink(outside, links[0])
    os.symlink(inside, links[1])
    return links


def distinct(folder: Path, cases: list[Case]) -> bool:
    """True when the batch files all have different bytes (so none is a duplicate)."""
    digests = [hashlib.sha256((folder / c.name).read_bytes()).digest()
               for c in cases if c.in_batch]
    return len(set(digests)) == len(digests)


_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from planstats.intake import read_submission
started = time.perf_counter()
sub = read_submission(Path(sys.argv[1]), sys.argv[2] or None)
seconds = time.perf_counter() - started
# VmHWM, this program's own peak: ru_maxrss also keeps the test process's resident set, which
# the child had between its fork and its exec (a pytest process of 410 MB read as 410 MB)
status = Path("/proc/self/status")
hwm = [line for line in status.read_text().splitlines() if line.startswith("VmHWM:")] \
    if status.exists() else []
peak = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "fatal": sub.fatal,
    "rows": len(sub.rows), "issues": [i.to_dict() for i in sub.issues]}, ensure_ascii=False))
"""


def measure(path: Path, folder: str = "", memory_mb: int = 1024,
            timeout: float = 60) -> dict[str, Any]:
    """Read one file in a fresh process under an address-space limit; time, peak memory, issues.

    A reader that tried to allocate past the limit dies here instead of taking the machine.
    """
    import json
    import resource
    import subprocess
    import sys

    def limit() -> None:
        size = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), folder], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    if done.returncode != 0:
        return {"crashed": done.returncode, "stderr": done.stderr[-2000:]}
    return json.loads(done.stdout)
