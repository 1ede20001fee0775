"""Zip and XML defence for workbooks: sizes, member counts, DTDs, CRCs and the extent of each
sheet are checked on the raw package before any reader parses it."""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO
from xml.etree import ElementTree

from planstats.intake.model import (
    CHUNK,
    MB,
    OLE_SIGNATURE,
    Limits,
    Submission,
    column_index,
    mb,
)

# Patterns that start with a rare literal are fast; the sheet scan relies on that.
# every row tag, with its number when it has one ('' otherwise)
_ROW = re.compile(rb"""<row(?:\s(?:[^>]*?\s)?r\s*=\s*["'](\d{1,9})|[\s>/])""")
# every cell tag: (column, row, "<f…" when a formula is its first child) in the plain form every
# writer uses, ('', '', '') otherwise (CT_Cell's children come in the order f, v, is)
_CELL = re.compile(rb'<c(?: r="([A-Z]{1,3})(\d{1,9})"[^>]*>(<f[\s>/])?|[\s>/])')
_FORMULA_TAG = re.compile(rb"<f[\s>/]")
_PREFIXED_TAG = re.compile(rb":(?:c|row|f)[\s>/]")
_UNREFERENCED = (b"", b"", b"")
DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_REF = re.compile(r"^([A-Za-z]{1,3})(\d+)$")


@dataclass
class SheetScan:
    """Bounds of a sheet as the reader will lay it out (it allocates rows × columns up front).

    Counted on the raw XML with searches for rare literal prefixes and ``bytes.count``, which
    is cheap. The reader places a row or cell without an ``r`` reference after the previous
    one; when some tag is not in the plain form counted here, ``exact`` is cleared and the sheet
    is measured by parsing it instead.
    """

    height: int = 0
    width: int = 0
    formula_cells: list[tuple[int, int]] = field(default_factory=list)  # (row from 1, col from 0)
    exact: bool = True
    formula_tags: int = 0
    row_tags: int = 0
    numbered_rows: int = 0
    cell_tags: int = 0
    cell_refs: int = 0

    def add(self, chunk: bytes) -> None:
        if _PREFIXED_TAG.search(chunk):
            self.exact = False  # namespace-prefixed tags: let the parser count them
        rows = _ROW.findall(chunk)
        if rows:
            self.row_tags += len(rows)
            numbers = set(rows) - {b""}
            self.numbered_rows += len(rows) - rows.count(b"")
            if numbers:
                self.height = max(self.height, *map(int, numbers))
        cells = _CELL.findall(chunk)
        if cells:
            self.cell_tags += len(cells)
            self.cell_refs += len(cells) - cells.count(_UNREFERENCED)
            letters = set(map(itemgetter(0), cells)) - {b""}  # few distinct: convert each once
            if letters:
                self.width = max(self.width, *(column_index(c.decode()) + 1 for c in letters))
                numbers = set(map(itemgetter(1), cells)) - {b""}
                self.height = max(self.height, *map(int, numbers))
        tags = len(_FORMULA_TAG.findall(chunk))
        if tags:
            self.formula_tags += tags
            formulas = [(c, r) for c, r, f in cells if f]
            index = {c: column_index(c.decode()) for c in set(map(itemgetter(0), formulas))}
            self.formula_cells += [(int(r), index[c]) for c, r in formulas]

    def finish(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        if (self.exact and self.row_tags == self.numbered_rows and self.cell_tags == self.cell_refs
                and self.formula_tags == len(self.formula_cells)):
            return
        self.height = self.width = 0
        self.formula_cells = []
        for row, col, formula in sheet_cells(zf, info):
            self.height, self.width = max(self.height, row), max(self.width, col + 1)
            if formula is not None:
                self.formula_cells.append((row, col))
        self.formula_tags = len(self.formula_cells)



def open_package(sub: Submission, data: bytes, limits: Limits) -> zipfile.ZipFile | None:
    """The zip of an xlsx or ods, after the size and member checks that need no parsing."""
    end = zip_end(data)
    if end is None:
        zh, en = not_a_workbook(data)
        sub.fail("file_unreadable", zh, en)
        return None
    entries, directory_size = end
    if entries > limits.zip_members or directory_size > limits.zip_members * 1024:
        too_many_members(sub, entries, limits)
        return None
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = zf.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, struct.error):
        sub.fail("file_unreadable", "文件不完整或已损坏（可能没有复制完），"
                 "请用 Excel 重新保存后提交。", "corrupt or truncated zip")
        return None
    if len(members) > limits.zip_members:
        too_many_members(sub, len(members), limits)
        return None
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.xlsx_bytes:
        sub.fail("zip_bomb", f"文件解压后约 {mb(unpacked)} MB，"
                 f"超过上限 {mb(limits.xlsx_bytes)} MB（正常的填报文件不到 1 MB）。"
                 "请用下发的模板填报，不要粘贴大量数据或图片。",
                 f"uncompressed size {unpacked} bytes is over the limit of {limits.xlsx_bytes}")
        return None
    return zf


def open_zip(sub: Submission, data: bytes,
             limits: Limits) -> tuple[zipfile.ZipFile, dict[str, tuple[str, str]]] | None:
    """The xlsx zip and its sheets (name → (part, state)), after the checks that need no parsing."""
    zf = open_package(sub, data, limits)
    if zf is None:
        return None
    lower = {m.filename.lower() for m in zf.infolist()}
    types = small_member(zf, "[Content_Types].xml")
    if any(n.endswith("vbaproject.bin") for n in lower) or (types and b"macroEnabled" in types):
        sub.fail("macro", "文件含有宏（VBA），不予接收。请在 Excel 中“另存为”"
                 "“Excel 工作簿（*.xlsx）”（不含宏）后提交。",
                 "workbook contains macros (vbaProject / macroEnabled)")
        return None
    if types is None or b"spreadsheetml" not in types:
        sub.fail("file_unreadable", "文件不是 Excel 工作簿（可能是 Word、WPS 或其他文件"
                 "改了扩展名）。请用下发的模板填报并保存为 .xlsx。", "not a spreadsheetml package")
        return None
    sheets = sheet_parts(zf)
    if sheets is None:
        sub.fail("file_unreadable", "文件内部结构不完整，无法找到工作表。"
                 "请用 Excel 打开后重新保存再提交。",
                 "workbook.xml or its relationships are missing or malformed")
        return None
    return zf, sheets


def too_many_members(sub: Submission, count: int, limits: Limits) -> None:
    sub.fail("zip_bomb", f"文件内部包含 {count} 个部件，超过上限 {limits.zip_members}，"
             "不像是填报模板。请用下发的模板重新填报。",
             f"{count} zip members, over the limit of {limits.zip_members}")



def zip_end(data: bytes) -> tuple[int, int] | None:
    """(entries, central directory size) from the end record, before zipfile reads anything."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    entries, size = struct.unpack("<HL", data[at + 10:at + 16])
    if entries == 0xFFFF or size == 0xFFFFFFFF:  # zip64: no county workbook needs it
        return 1 << 32, size
    return entries, size


def not_a_workbook(data: bytes) -> tuple[str, str]:
    """Say what a file that is not a zip actually is, so the county knows what to do."""
    head = data[:2048].lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    if not data:
        return ("文件是空的（0 字节），请重新保存、重新复制后提交。", "the file is empty")
    if data.startswith(OLE_SIGNATURE):
        return ("这是旧版 Excel（.xls）文件，或设置了打开密码的工作簿。请去掉密码，"
                "在 Excel 中“另存为”“Excel 工作簿（*.xlsx）”后提交。",
                "legacy .xls or password-protected workbook")
    if head.startswith(b"<") and any(tag in head for tag in (b"<html", b"<table", b"<!doctype")):
        return ("文件其实是网页（HTML），只是扩展名为 .xlsx（常见于从网页系统导出的表格）。"
                "请用 Excel 打开后“另存为”“Excel 工作簿（*.xlsx）”再提交。",
                "HTML renamed to .xlsx")
    if head.startswith(b"<?xml"):
        return ("文件是 XML 表格，不是 .xlsx 工作簿。请用 Excel 打开后“另存为”"
                "“Excel 工作簿（*.xlsx）”再提交。", "XML spreadsheet renamed to .xlsx")
    if data.startswith(b"%PDF"):
        return ("文件是 PDF，不是 Excel 工作簿。请提交填好的 .xlsx 模板。", "PDF renamed to .xlsx")
    if data.startswith(b"PK"):
        return ("文件不完整（可能没有复制完或在传输中损坏），无法打开。"
                "请重新保存、重新复制后提交。", "truncated zip (no end of central directory)")
    return ("文件无法打开：不是有效的 Excel（.xlsx）文件，可能已损坏或只是改了扩展名。",
            "not a valid xlsx file (corrupt, truncated or renamed)")


def small_member(zf: zipfile.ZipFile, name: str, limit: int = 4 * MB) -> bytes | None:
    """A small XML part read whole, or None when it is missing, too big, corrupt or has a DTD."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        return None
    try:
        with zf.open(info) as fh:
            raw = fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError):
        return None
    return None if len(raw) > limit or DTD.search(raw) else raw


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]] | None:
    """Sheet name → (zip part, visibility state) from workbook.xml and its relationships."""
    workbook = small_member(zf, "xl/workbook.xml")
    rels = small_member(zf, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    try:
        targets = {el.get("Id"): el.get("Target", "") for el in ElementTree.fromstring(rels).iter()
                   if local_name(el.tag) == "Relationship"}
        sheets: dict[str, tuple[str, str]] = {}
        for el in ElementTree.fromstring(workbook).iter():
            if local_name(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if local_name(k) == "id"), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            sheets[el.get("name", "")] = (posixpath.normpath(part), el.get("state", "visible"))
    except ElementTree.ParseError:
        return None
    return sheets


def verify_members(sub: Submission, zf: zipfile.ZipFile, wanted: set[str],
                    all_sheets: set[str]) -> dict[str, SheetScan] | None:
    """Decompress every part the reader will touch, checking sizes and CRCs; scan wanted sheets.

    The declared sizes were checked against the limits; reading through zipfile holds every
    part to its declared size, so a part that lies about its size fails here, not in the reader.
    """
    wanted_lower = {p.lower() for p in wanted}
    skipped = {p.lower() for p in all_sheets} - wanted_lower
    scans = {p: SheetScan() for p in wanted_lower}
    try:
        for info in zf.infolist():
            name = posixpath.normpath(info.filename).lower()
            if name in skipped or info.is_dir():
                continue
            scan = scans.get(name)
            with zf.open(info) as fh:
                scan_stream(fh, scan, xml=name.endswith((".xml", ".rels")))
            if scan is not None:
                scan.finish(zf, info)
    except UnsafeXml:
        sub.fail("file_unreadable", "文件内部含有不安全的 XML 声明（DOCTYPE/ENTITY），不予读取。"
                 "请用下发的模板重新填报。", "XML with DOCTYPE/ENTITY declarations")
        return None
    except RuntimeError:  # zipfile: "File ... is encrypted, password required"
        sub.fail("file_unreadable", "文件设置了密码，无法读取。请去掉密码后重新保存再提交。",
                 "encrypted zip member")
        return None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError):
        sub.fail("file_unreadable", "文件已损坏（压缩数据校验失败），"
                 "请用 Excel 打开后重新保存再提交。", "corrupt zip member (size or CRC mismatch)")
        return None
    except ElementTree.ParseError as exc:
        sub.fail("file_unreadable", "文件内部的表格数据格式有误，请用 Excel 打开后重新保存再提交。",
                 f"malformed sheet XML: {exc}")
        return None
    missing = wanted_lower - {posixpath.normpath(i.filename).lower() for i in zf.infolist()}
    if missing:
        sub.fail("file_unreadable", "文件内部结构不完整，找不到工作表的内容。"
                 "请用 Excel 打开后重新保存再提交。", f"sheet parts missing: {sorted(missing)}")
        return None
    return scans


class UnsafeXml(Exception):
    pass


def scan_stream(fh: IO[bytes], scan: SheetScan | None, xml: bool) -> None:
    carry = b""
    for chunk in iter(lambda: fh.read(CHUNK), b""):
        if not xml:
            continue
        chunk = carry + chunk
        cut = chunk.rfind(b">") + 1  # scan whole tags only; the rest joins the next chunk
        chunk, carry = chunk[:cut], chunk[cut:]
        if DTD.search(chunk):
            raise UnsafeXml
        if scan is not None:
            scan.add(chunk)
    if xml and carry and scan is not None:
        scan.add(carry)



def sheet_cells(zf: zipfile.ZipFile,
                info: zipfile.ZipInfo) -> Iterator[tuple[int, int, str | None]]:
    """(row from 1, column from 0, formula or None) of every cell, placed as the reader does."""
    row, col, cell_row = 0, -1, 0
    with zf.open(info) as fh:
        for event, el in ElementTree.iterparse(fh, events=("start", "end")):
            tag = local_name(el.tag)
            if event == "start":
                if tag == "row":
                    number = el.get("r", "")
                    row, col = (int(number) if number.isdigit() else row + 1), -1
                elif tag == "c":
                    ref = _REF.match(el.get("r", ""))
                    col = column_index(ref[1]) if ref else col + 1
                    cell_row = int(ref[2]) if ref else row
                continue
            if tag == "c":
                formula = next((child for child in el if local_name(child.tag) == "f"), None)
                yield cell_row, col, None if formula is None else (formula.text or "")
                el.clear()
            elif tag == "row":
                el.clear()
