"""Reading county files from the landing zone into rows that remember their cell.

xlsx (the template's three sheets) and CSV (UTF-8 with or without BOM, GBK, UTF-16 with BOM;
comma, tab, semicolon or bar between cells) are read into the same ``Submission``. Headers are
found by name, not position. Limits (file size, uncompressed size, zip members, rows, cells) are
checked before anything is parsed; anything unreadable becomes an issue, never an exception.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import logging
import os
import posixpath
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from planstats.issues import ERROR, Issue
from planstats.settings import Settings
from planstats.values import ValueParseError, parse_number

log = logging.getLogger(__name__)

INFO_SHEET = "填报信息"
DATA_SHEET = "指标数据"
GUIDE_SHEET = "填报说明"
INFO_KEYS = ("行政区划代码", "统计年度", "填报单位", "填报人", "联系电话", "填报日期", "模板版本")
DATA_COLUMNS = ("指标代码", "指标名称", "单位", "目标值", "本年值", "分子", "分母", "说明")
CSV_COLUMNS = ("行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明")
NUMBER_COLUMNS = {"本年值": "value", "分子": "numerator", "分母": "denominator"}
INPUT_COLUMNS = (*NUMBER_COLUMNS, "说明")  # what a county types; never a formula
READ_SUFFIXES = (".xlsx", ".csv")
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
# What the landing zone picks up: files it reads, and spreadsheets it refuses with a report
# rather than ignoring them, so the county learns why nothing happened.
SUFFIXES = (*READ_SUFFIXES, *MACRO_SUFFIXES, ".xls", ".xlsb", ".xltx", ".ods", ".et")
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_NAME_BYTES = 200  # archive prefix and report suffixes must still fit in 255 bytes
MAX_FORMULA_ISSUES = 200
DELIMITERS = (",", "\t", ";", "|")
MB = 1 << 20

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected xlsx
_CHUNK = 1 << 20
# Patterns that start with a rare literal are fast; the sheet scan relies on that.
_ROW_TAG = re.compile(rb"<row[\s>/]")
_ROW_NUMBER = re.compile(rb"""<row\s(?:[^>]*?\s)?r\s*=\s*["'](\d{1,9})""")
_NOT_CELL_TAG = re.compile(rb"<c[^\s>/]")
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,9})"')  # how every writer puts it
_FORMULA_TAG = re.compile(rb"<f[\s>/]")
_PREFIXED_TAG = re.compile(rb":(?:c|row|f)[\s>/]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_REF = re.compile(r"^([A-Za-z]{1,3})(\d+)$")


@dataclass(frozen=True)
class Limits:
    """What a county file may not exceed; checked before the file is parsed."""

    file_bytes: int
    xlsx_bytes: int  # all members of the zip, uncompressed
    zip_members: int
    rows: int
    cells: int  # rows × columns of one sheet as the reader lays it out

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Limits:
        s = settings or Settings.from_env()
        return cls(int(s.max_file_mb * MB), int(s.max_xlsx_mb * MB), s.max_zip_members,
                   s.max_rows, s.max_cells)


@dataclass(slots=True)
class ValueRow:
    """One indicator row as the county wrote it, with the Excel row it came from."""

    row: int
    indicator_code: str
    name: str
    region_code: str | None
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # field → column letter
    raw: dict[str, Any] = field(default_factory=dict)  # field → cell as written


@dataclass
class Submission:
    path: Path
    folder: str
    file_hash: str
    received_at: str
    kind: str
    region_code: str | None = None
    year: int | None = None
    template_version: str | None = None
    info: dict[str, str] = field(default_factory=dict)
    rows: list[ValueRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    data_sheet: str = DATA_SHEET

    fatal: bool = False  # the file cannot be checked further (unreadable, no table, no region)
    # The reader got through the file's cells: it passed every limit and parsed. Only then may
    # a later step open it again with another reader (openpyxl has no such limits).
    cells_read: bool = False

    def error(self, rule: str, zh: str, en: str, **where: Any) -> None:
        self.issues.append(Issue(ERROR, rule, zh, en, **where))

    def fail(self, rule: str, zh: str, en: str, **where: Any) -> None:
        self.error(rule, zh, en, **where)
        self.fatal = True


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """0-based index of a column letter: 'A' → 0, 'AA' → 26."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell)).strip()


def _shown(value: Any, limit: int = 60) -> str:
    """A cell as quoted back in a message: short enough for a report line."""
    text = _text(value)
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def _mb(size: float) -> str:
    return f"{size / MB:.1f}"


LINK_MESSAGE = "文件或文件夹是链接（快捷方式），系统不读取链接。请把文件本身放入本县文件夹。"


def landing_problem(path: Path, inbox: Path) -> str | None:
    """Why the pipeline may not pick up ``path`` from ``inbox``, in the county's words (logged
    in English); None when it may.

    Links are never followed (a county could point at any file the pipeline can read), and the
    name must survive being stored, archived and reported: valid UTF-8, short enough to carry
    the archive's prefixes and suffixes within the file system's 255-byte limit.
    """
    reason = message = None
    try:
        relative = path.relative_to(inbox)
        links = [inbox / Path(*relative.parts[:i]) for i in range(1, len(relative.parts) + 1)]
        longest = max(len(part.encode("utf-8")) for part in relative.parts)
        if any(p.is_symlink() for p in links):
            reason, message = "symbolic link", LINK_MESSAGE
        elif not path.resolve().is_relative_to(inbox.resolve()):
            reason, message = "resolves outside the inbox", LINK_MESSAGE
        elif longest > MAX_NAME_BYTES:
            reason = f"name longer than {MAX_NAME_BYTES} bytes"
            message = (f"文件名过长（{longest} 字节，上限 {MAX_NAME_BYTES} 字节，约 "
                       f"{MAX_NAME_BYTES // 3} 个汉字）。请改短文件名后重新放入。")
    except UnicodeEncodeError:  # a ValueError too: caught first
        reason = "name is not valid UTF-8"
        message = "文件名的编码无法识别（不是 UTF-8）。请重新命名后再放入。"
    except ValueError:
        reason, message = "not under the inbox", "文件不在本县的共享文件夹内。"
    if reason:
        log.warning("not picked up from the landing zone (%s): %r", reason, str(path))
    return message


def read_submission(path: Path, folder: str | None = None,
                    limits: Limits | None = None) -> Submission:
    """Read a county file. ``folder`` is the landing-zone folder (region code) it was found in.

    A landing-zone file is opened without following symbolic links, read once, and parsed from
    the bytes that were hashed, so the hash always matches what was read.
    """
    limits = limits or Limits.from_settings()
    sub = Submission(path=path, folder=folder or "", file_hash="", received_at="",
                     kind=path.suffix.lower().lstrip("."))
    try:
        data = _open(sub, limits, follow_links=folder is None)
        if data is None:
            return sub
        if sub.kind == "xlsx":
            _read_xlsx(sub, data, limits)
        elif sub.kind == "csv":
            _read_csv(sub, data, limits)
        elif path.suffix.lower() in MACRO_SUFFIXES:
            sub.fail("macro", f"不接收启用宏的工作簿（{path.suffix}）。请在 Excel 中“另存为”"
                     "“Excel 工作簿（*.xlsx）”后提交。", f"macro-enabled workbooks ({path.suffix}) "
                     "are not accepted; save as .xlsx")
        elif path.suffix.lower() == ".xls":
            sub.fail("file_type", "不支持旧版 Excel（.xls）文件。请在 Excel 中“另存为”"
                     "“Excel 工作簿（*.xlsx）”后提交。",
                     "legacy .xls is not supported; save as .xlsx")
        else:
            sub.fail("file_type", f"不支持的文件类型“{path.suffix}”，请提交 .xlsx 或 .csv 文件。",
                     f"unsupported file type {path.suffix!r}; send .xlsx or .csv")
    except FileNotFoundError:
        raise  # gone before it could be read: nothing to report to anyone
    except Exception as exc:  # a county file must never stop the batch
        _unexpected(sub, exc)
    except BaseException as exc:  # the Rust reader's panics derive from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        _unexpected(sub, exc)
    return sub


def _unexpected(sub: Submission, exc: BaseException) -> None:
    log.exception("unexpected error reading %s", sub.path)
    sub.rows.clear()
    sub.cells_read = False
    sub.fail("file_unreadable", "文件无法读取，可能已损坏。请用 Excel 打开后重新保存再提交；"
             "如仍有问题请联系管理员。", f"unexpected reader error: {type(exc).__name__}")


def _open(sub: Submission, limits: Limits, follow_links: bool) -> bytes | None:
    """The file's bytes, or None after recording why they are not read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(sub.path, flags)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        sub.fail("unsafe_path", "文件是符号链接（快捷方式），系统不读取链接。"
                 "请把文件本身放入本县文件夹。",
                 "symbolic links in the landing zone are not followed")
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        sub.received_at = datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")
        if not stat.S_ISREG(info.st_mode):
            sub.fail("file_type", "这不是一个普通文件，无法作为填报文件读取。",
                     "not a regular file")
            return None
        if info.st_size > limits.file_bytes:
            digest = hashlib.sha256()
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
            sub.file_hash = digest.hexdigest()
            _too_large(sub, info.st_size, limits)
            return None
        data = fh.read(limits.file_bytes + 1)
    sub.file_hash = hashlib.sha256(data).hexdigest()
    if len(data) > limits.file_bytes:  # grew while being read
        _too_large(sub, len(data), limits)
        return None
    return data


def _too_large(sub: Submission, size: int, limits: Limits) -> None:
    sub.fail("file_too_large", f"文件大小 {_mb(size)} MB，超过上限 {_mb(limits.file_bytes)} MB。"
             "请删除无关的工作表和图片，只保留本县的填报数据后重新提交。",
             f"file is {size} bytes, over the limit of {limits.file_bytes}")


# xlsx ------------------------------------------------------------------------------------------


@dataclass
class _SheetScan:
    """Bounds of a sheet as the reader will lay it out (it allocates rows × columns up front).

    Counted on the raw XML with searches for rare literal prefixes and ``bytes.count``, which
    is cheap. The reader places a row or cell without an ``r`` reference after the previous
    one; when some tag is not in the plain form counted here, ``exact`` is cleared and the sheet
    is measured by parsing it instead.
    """

    height: int = 0
    width: int = 0
    formulas: bool = False
    exact: bool = True
    row_tags: int = 0
    numbered_rows: int = 0
    cell_tags: int = 0
    cell_refs: int = 0

    def add(self, chunk: bytes) -> None:
        if _PREFIXED_TAG.search(chunk):
            self.exact = False  # namespace-prefixed tags: let the parser count them
        self.row_tags += len(_ROW_TAG.findall(chunk))
        rows = _ROW_NUMBER.findall(chunk)
        if rows:
            self.numbered_rows += len(rows)
            self.height = max(self.height, max(map(int, rows)))
        # every "<c" is a cell unless it starts a longer name (<col>, <cfRule>, …)
        self.cell_tags += chunk.count(b"<c") - len(_NOT_CELL_TAG.findall(chunk))
        refs = _CELL_REF.findall(chunk)
        if refs:
            self.cell_refs += len(refs)
            letters = set(map(itemgetter(0), refs))  # few distinct: convert each once
            self.width = max(self.width, *(column_index(c.decode()) + 1 for c in letters))
            self.height = max(self.height, max(map(int, set(map(itemgetter(1), refs)))))
        if not self.formulas and _FORMULA_TAG.search(chunk):
            self.formulas = True

    def finish(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        if self.exact and self.row_tags == self.numbered_rows and self.cell_tags == self.cell_refs:
            return
        self.height = self.width = 0
        for row, col, formula in _cells(zf, info):
            self.height, self.width = max(self.height, row), max(self.width, col + 1)
            self.formulas = self.formulas or formula is not None


def _read_xlsx(sub: Submission, data: bytes, limits: Limits) -> None:
    book = _open_zip(sub, data, limits)
    if book is None:
        return
    zf, sheets = book
    names = {_text(name): name for name in sheets}
    if DATA_SHEET not in names:
        sub.fail("missing_sheet", f"缺少工作表“{DATA_SHEET}”，请使用下发的填报模板。",
                 f"sheet {DATA_SHEET!r} is missing", sheet=DATA_SHEET)
        return
    wanted = {name: sheets[names[name]] for name in (INFO_SHEET, DATA_SHEET) if name in names}
    scans = _verify_members(sub, zf, {part for part, _ in wanted.values()}, set(
        part for part, _ in sheets.values()))
    if scans is None:
        return
    for name, (part, state) in wanted.items():
        scan = scans[part.lower()]
        if scan.height > limits.rows:
            sub.fail("too_many_rows", f"工作表“{name}”有 {scan.height} 行，"
                     f"超过上限 {limits.rows} 行。请只保留本县（含下辖单位）的指标数据，"
                     "删除多余的行后重新提交。",
                     f"sheet {name!r} has {scan.height} rows, over the limit of {limits.rows}",
                     sheet=name)
        elif scan.height * scan.width > limits.cells:
            _sheet_too_large(sub, name, scan.height, scan.width, limits)
        if state != "visible":
            sub.error("hidden_sheet", f"工作表“{name}”被隐藏了。系统读取的正是这张表，"
                      "请在 Excel 中取消隐藏、核对其中的数据后再提交。",
                      f"sheet {name!r} is {state}", sheet=name)
    if sub.fatal:
        return
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        info_rows = None
        if INFO_SHEET in names:
            info_rows = workbook.get_sheet_by_name(names[INFO_SHEET]).to_python(
                skip_empty_area=False)
        sheet = workbook.get_sheet_by_name(names[DATA_SHEET])
        data_rows = sheet.to_python(skip_empty_area=False)
        merged = sheet.merged_cell_ranges or []
    except Exception as exc:  # whatever the reader raises, the county sees one line
        sub.fail("file_unreadable", "文件无法读取，可能已损坏，请用 Excel 打开后重新保存再提交。",
                 f"cannot read workbook: {str(exc)[:200]}")
        return
    sub.cells_read = True
    if info_rows is not None:
        _read_info(sub, info_rows)
    else:
        sub.fail("missing_sheet", f"缺少工作表“{INFO_SHEET}”，请使用下发的填报模板。",
                 f"sheet {INFO_SHEET!r} is missing", sheet=INFO_SHEET)
    table = _read_table(sub, data_rows, DATA_SHEET, first_row=1)
    if table is None:
        return
    header_row, header = table
    _check_merged(sub, merged, header_row)
    if scans[wanted[DATA_SHEET][0].lower()].formulas:
        _check_formulas(sub, zf, wanted[DATA_SHEET][0], header_row, header)


def _open_zip(sub: Submission, data: bytes,
              limits: Limits) -> tuple[zipfile.ZipFile, dict[str, tuple[str, str]]] | None:
    """The zip and its sheets (name → (part, state)), after the checks that need no parsing."""
    end = _zip_end(data)
    if end is None:
        zh, en = _not_a_workbook(data)
        sub.fail("file_unreadable", zh, en)
        return None
    entries, directory_size = end
    if entries > limits.zip_members or directory_size > limits.zip_members * 1024:
        _too_many_members(sub, entries, limits)
        return None
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = zf.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, struct.error):
        sub.fail("file_unreadable", "文件不完整或已损坏（可能没有复制完），"
                 "请用 Excel 重新保存后提交。", "corrupt or truncated zip")
        return None
    if len(members) > limits.zip_members:
        _too_many_members(sub, len(members), limits)
        return None
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.xlsx_bytes:
        sub.fail("zip_bomb", f"文件解压后约 {_mb(unpacked)} MB，"
                 f"超过上限 {_mb(limits.xlsx_bytes)} MB（正常的填报文件不到 1 MB）。"
                 "请用下发的模板填报，不要粘贴大量数据或图片。",
                 f"uncompressed size {unpacked} bytes is over the limit of {limits.xlsx_bytes}")
        return None
    lower = {m.filename.lower() for m in members}
    types = _small_member(zf, "[Content_Types].xml")
    if any(n.endswith("vbaproject.bin") for n in lower) or (types and b"macroEnabled" in types):
        sub.fail("macro", "文件含有宏（VBA），不予接收。请在 Excel 中“另存为”"
                 "“Excel 工作簿（*.xlsx）”（不含宏）后提交。",
                 "workbook contains macros (vbaProject / macroEnabled)")
        return None
    if types is None or b"spreadsheetml" not in types:
        sub.fail("file_unreadable", "文件不是 Excel 工作簿（可能是 Word、WPS 或其他文件"
                 "改了扩展名）。请用下发的模板填报并保存为 .xlsx。", "not a spreadsheetml package")
        return None
    sheets = _sheet_parts(zf)
    if sheets is None:
        sub.fail("file_unreadable", "文件内部结构不完整，无法找到工作表。"
                 "请用 Excel 打开后重新保存再提交。",
                 "workbook.xml or its relationships are missing or malformed")
        return None
    return zf, sheets


def _too_many_members(sub: Submission, count: int, limits: Limits) -> None:
    sub.fail("zip_bomb", f"文件内部包含 {count} 个部件，超过上限 {limits.zip_members}，"
             "不像是填报模板。请用下发的模板重新填报。",
             f"{count} zip members, over the limit of {limits.zip_members}")


def _sheet_too_large(sub: Submission, sheet: str, height: int, width: int, limits: Limits) -> None:
    area = f"A1:{column_letter(max(width, 1) - 1)}{max(height, 1)}"
    sub.fail("sheet_too_large", f"工作表“{sheet}”的数据区域过大（{area}，"
             f"约 {height * width} 个单元格，上限 {limits.cells}）。通常是表格以外很远的单元格"
             "有内容，请删除表格以外的行和列后重新提交。",
             f"sheet {sheet!r} spans {area}, over the limit of {limits.cells} cells", sheet=sheet)


def _zip_end(data: bytes) -> tuple[int, int] | None:
    """(entries, central directory size) from the end record, before zipfile reads anything."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    entries, size = struct.unpack("<HL", data[at + 10:at + 16])
    if entries == 0xFFFF or size == 0xFFFFFFFF:  # zip64: no county workbook needs it
        return 1 << 32, size
    return entries, size


def _not_a_workbook(data: bytes) -> tuple[str, str]:
    """Say what a file that is not a zip actually is, so the county knows what to do."""
    head = data[:2048].lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    if not data:
        return ("文件是空的（0 字节），请重新保存、重新复制后提交。", "the file is empty")
    if data.startswith(_OLE):
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


def _small_member(zf: zipfile.ZipFile, name: str, limit: int = 4 * MB) -> bytes | None:
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
    return None if len(raw) > limit or _DTD.search(raw) else raw


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]] | None:
    """Sheet name → (zip part, visibility state) from workbook.xml and its relationships."""
    workbook = _small_member(zf, "xl/workbook.xml")
    rels = _small_member(zf, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    try:
        targets = {el.get("Id"): el.get("Target", "") for el in ElementTree.fromstring(rels).iter()
                   if _local(el.tag) == "Relationship"}
        sheets: dict[str, tuple[str, str]] = {}
        for el in ElementTree.fromstring(workbook).iter():
            if _local(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            sheets[el.get("name", "")] = (posixpath.normpath(part), el.get("state", "visible"))
    except ElementTree.ParseError:
        return None
    return sheets


def _verify_members(sub: Submission, zf: zipfile.ZipFile, wanted: set[str],
                    all_sheets: set[str]) -> dict[str, _SheetScan] | None:
    """Decompress every part the reader will touch, checking sizes and CRCs; scan wanted sheets.

    The declared sizes were checked against the limits; reading through zipfile holds every
    part to its declared size, so a part that lies about its size fails here, not in the reader.
    """
    wanted_lower = {p.lower() for p in wanted}
    skipped = {p.lower() for p in all_sheets} - wanted_lower
    scans = {p: _SheetScan() for p in wanted_lower}
    try:
        for info in zf.infolist():
            name = posixpath.normpath(info.filename).lower()
            if name in skipped or info.is_dir():
                continue
            scan = scans.get(name)
            with zf.open(info) as fh:
                _scan_stream(fh, scan, xml=name.endswith((".xml", ".rels")))
            if scan is not None:
                scan.finish(zf, info)
    except _UnsafeXml:
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


class _UnsafeXml(Exception):
    pass


def _scan_stream(fh: IO[bytes], scan: _SheetScan | None, xml: bool) -> None:
    carry = b""
    for chunk in iter(lambda: fh.read(_CHUNK), b""):
        if not xml:
            continue
        chunk = carry + chunk
        cut = chunk.rfind(b">") + 1  # scan whole tags only; the rest joins the next chunk
        chunk, carry = chunk[:cut], chunk[cut:]
        if _DTD.search(chunk):
            raise _UnsafeXml
        if scan is not None:
            scan.add(chunk)
    if xml and carry and scan is not None:
        scan.add(carry)


def _check_merged(sub: Submission, merged: list[Any], header_row: int) -> None:
    for (r0, c0), (r1, c1) in merged:
        if r1 + 1 < header_row:
            continue  # titles above the table may be merged
        area = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
        sub.error("merged_cells", f"“{DATA_SHEET}”中 {area} 是合并单元格。请取消合并，"
                  "每个指标占一行、每个值填在自己的单元格里。", f"merged cells {area} in the table",
                  sheet=DATA_SHEET, row=r0 + 1, column=column_letter(c0), value=area)


def _check_formulas(sub: Submission, zf: zipfile.ZipFile, part: str, header_row: int,
                    header: dict[str, int]) -> None:
    """Formulas in the columns a county types into: the cached result is not what was typed."""
    columns = {header[name]: name for name in INPUT_COLUMNS if name in header}
    info = next(i for i in zf.infolist() if posixpath.normpath(i.filename).lower() == part.lower())
    found = 0
    for row, col, formula in _cells(zf, info):
        if formula is None or row <= header_row or col not in columns:
            continue
        found += 1
        if found > MAX_FORMULA_ISSUES:
            break
        ref = f"{column_letter(col)}{row}"
        shown = _shown("=" + formula) if formula else "（共享公式）"
        sub.error("formula", f"“{columns[col]}”单元格 {ref} 是公式（{shown}）。请直接填写数值，"
                  "不要使用公式或链接。", f"formula in {columns[col]} cell {ref}; type the value",
                  sheet=DATA_SHEET, row=row, column=column_letter(col), value=shown)


def _cells(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[tuple[int, int, str | None]]:
    """(row from 1, column from 0, formula or None) of every cell, placed as the reader does."""
    row, col, cell_row = 0, -1, 0
    with zf.open(info) as fh:
        for event, el in ElementTree.iterparse(fh, events=("start", "end")):
            tag = _local(el.tag)
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
                formula = next((child for child in el if _local(child.tag) == "f"), None)
                yield cell_row, col, None if formula is None else (formula.text or "")
                el.clear()
            elif tag == "row":
                el.clear()


# the table, from either kind of file ------------------------------------------------------------


def _read_info(sub: Submission, rows: list[list[Any]]) -> None:
    for r_index, row in enumerate(rows, start=1):
        if len(row) < 2:
            continue
        key = _text(row[0]).rstrip(":：")
        if key in INFO_KEYS:
            if isinstance(row[1], str) and len(row[1]) > MAX_CELL_CHARS:
                _cell_too_long(sub, INFO_SHEET, r_index, "B", key, len(row[1]))
                continue
            sub.info[key] = _text(row[1])
            sub.info[f"{key}@row"] = str(r_index)


def _cell_too_long(sub: Submission, sheet: str, row: int, column: str, name: str,
                   length: int, indicator_code: str | None = None) -> None:
    sub.error("cell_too_long", f"“{name}”单元格 {column}{row} 内容过长（{length} 个字符，"
              f"上限 {MAX_CELL_CHARS}）。请只填写数值或简短说明。",
              f"cell {name} is {length} characters long", sheet=sheet, row=row, column=column,
              indicator_code=indicator_code)


def _read_table(sub: Submission, rows: list[list[Any]], sheet: str,
                first_row: int) -> tuple[int, dict[str, int]] | None:
    """Rows under the header into ``sub.rows``; returns (header row number, column by name)."""
    header_index = None
    for index, row in enumerate(rows[:30]):
        if "指标代码" in {_text(c) for c in row}:
            header_index = index
            break
    if header_index is None:
        sub.fail("missing_header", f"在“{sheet}”中找不到表头行（应含“指标代码”“本年值”等列）。",
                 f"no header row with 指标代码 in {sheet!r}", sheet=sheet)
        return None
    header = {_text(c): i for i, c in enumerate(rows[header_index]) if _text(c)}
    needed = ("指标代码", "本年值") + (("行政区划代码", "统计年度") if sub.kind == "csv" else ())
    for name in needed:
        if name not in header:
            sub.fail("missing_column", f"“{sheet}”缺少“{name}”列。", f"column {name!r} is missing",
                     sheet=sheet, row=header_index + first_row)
    if sub.fatal:
        return None
    letters = {name: column_letter(i) for name, i in header.items()}
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        excel_row = index + first_row
        cells = {name: (row[i] if i < len(row) else "") for name, i in header.items()}
        too_long = {name: len(cell) for name, cell in cells.items()
                    if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS}
        for name in too_long:
            cells[name] = ""
        code = _text(cells.get("指标代码")).upper()
        for name, length in too_long.items():
            _cell_too_long(sub, sheet, excel_row, letters[name], name, length, code or None)
        if not code and not _text(cells.get("指标名称")):
            continue  # blank or note rows between and after the table
        item = ValueRow(
            row=excel_row,
            indicator_code=code,
            name=_text(cells.get("指标名称")),
            region_code=_text(cells.get("行政区划代码")) or None,
            note=_text(cells.get("说明")),
            columns=dict(letters),
            raw=dict(cells),
        )
        for column, attr in NUMBER_COLUMNS.items():
            if column not in header:
                continue
            cell = cells.get(column)
            try:
                setattr(item, attr, parse_number(cell))
            except ValueParseError:
                where = {"indicator_code": code or None, "sheet": sheet, "row": excel_row,
                         "column": letters[column], "value": _shown(cell)}
                if _text(cell).startswith("="):
                    sub.error("formula", f"“{column}”应直接填写数值，"
                              f"不能是公式（{_shown(cell)}）。",
                              f"{column} must be a typed value, not a formula", **where)
                else:
                    sub.error("numeric", f"“{column}”应填写数字，实际为“{_shown(cell)}”。",
                              f"{column} must be a number", **where)
        sub.rows.append(item)
    return header_index + first_row, header


# CSV -------------------------------------------------------------------------------------------


def _read_csv(sub: Submission, data: bytes, limits: Limits) -> None:
    sub.data_sheet = sub.path.name
    decoded = _decode_csv(sub, data)
    if decoded is None:
        return
    text, encoding = decoded
    delimiter = _sniff_delimiter(text)
    if delimiter is None:
        if encoding == "gb18030" and _looks_big5(data):
            sub.fail("file_encoding", "CSV 文件似乎是繁体中文 Big5 编码，"
                     "请另存为 UTF-8 或 GBK 编码后提交。",
                     "CSV looks like Big5; save as UTF-8 or GBK", sheet=sub.data_sheet)
            return
        delimiter = ","
    lines = text.count("\n") + 1
    if lines > limits.rows:
        sub.fail("too_many_rows", f"文件有 {lines} 行，超过上限 {limits.rows} 行。"
                 "请只保留本县（含下辖单位）的指标数据后重新提交。",
                 f"{lines} lines, over the limit of {limits.rows}", sheet=sub.data_sheet)
        return
    if text.count(delimiter) + lines > limits.cells:
        width = text.count(delimiter) // lines + 1
        _sheet_too_large(sub, sub.data_sheet, lines, width, limits)
        return
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        if "field limit" in str(exc):
            sub.fail("cell_too_long", f"第 {reader.line_num} 行有单元格内容过长"
                     f"（超过 {csv.field_size_limit()} 个字符）。请只填写数值或简短说明。",
                     f"a cell on line {reader.line_num} is too long", sheet=sub.data_sheet,
                     row=reader.line_num)
        else:
            sub.fail("file_unreadable", f"CSV 文件第 {reader.line_num} 行格式有误"
                     "（引号不成对等），请用 Excel 打开后重新另存为 CSV。",
                     f"malformed CSV at line {reader.line_num}: {exc}", sheet=sub.data_sheet,
                     row=reader.line_num)
        return
    sub.cells_read = True
    if _read_table(sub, rows, sub.path.name, first_row=1) is None:
        return
    regions = {r.region_code for r in sub.rows if r.region_code}
    years = {_text(r.raw.get("统计年度")) for r in sub.rows if _text(r.raw.get("统计年度"))}
    # The file's region is its county: rows may be the county itself or units below it.
    sub.info["行政区划代码"] = min(regions, key=len)[:6] if regions else ""
    if len(years) > 1:
        shown = "、".join(_shown(y, 12) for y in sorted(years)[:10])
        sub.error("mixed_years", f"一个文件只能填报一个统计年度，本文件含有：{shown}。",
                  "a file may carry one statistics year only", sheet=sub.data_sheet,
                  column="统计年度")
    sub.info["统计年度"] = min(years) if years else ""


def _decode_csv(sub: Submission, data: bytes) -> tuple[str, str] | None:
    """The text and the encoding it was read with, or None after recording why not."""
    def refuse(zh: str, en: str, rule: str = "file_encoding") -> None:
        sub.fail(rule, zh, en, sheet=sub.data_sheet)

    if not data:
        refuse("文件是空的（0 字节），请重新保存、重新复制后提交。", "the file is empty",
               "file_unreadable")
        return None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)  # Excel's "Unicode text"
    elif data.startswith((b"PK\x03\x04", _OLE)):
        refuse("文件其实是 Excel 工作簿，只是扩展名为 .csv。请把扩展名改回 .xlsx"
               "（旧版 .xls 请另存为 .xlsx）后提交。", "an Excel workbook renamed to .csv",
               "file_type")
        return None
    elif b"\x00" in data:
        refuse("文件含有二进制内容，不是 CSV 文本文件（如是 UTF-16 编码，请另存为 UTF-8）。",
               "binary content (NUL bytes) in a CSV")
        return None
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        if "\n" not in text and "\r" in text:  # classic Mac line ends
            text = text.replace("\r", "\n")
        return text, encoding
    refuse("CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码。",
           "CSV encoding is neither UTF-8 nor GBK")
    return None


def _lines(text: str) -> Iterator[str]:
    """Lines of ``text`` one at a time, without copying the whole text again."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _sniff_delimiter(text: str) -> str | None:
    """The delimiter under which some early record has a 指标代码 cell."""
    for delimiter in DELIMITERS:
        try:
            for record in islice(csv.reader(_lines(text), delimiter=delimiter), 30):
                if "指标代码" in {_text(c) for c in record}:
                    return delimiter
        except csv.Error:
            continue
    return None


def _looks_big5(data: bytes) -> bool:
    try:
        return "指標代碼" in data.decode("big5")
    except UnicodeDecodeError:
        return False
