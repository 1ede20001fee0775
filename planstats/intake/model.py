"""What a county file becomes: the submission, its rows, the limits it is read under, and the
words of the template (sheet and column names) every reader shares."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planstats.issues import ERROR, Issue
from planstats.settings import Settings

INFO_SHEET = "填报信息"
DATA_SHEET = "指标数据"
GUIDE_SHEET = "填报说明"
INFO_KEYS = ("行政区划代码", "统计年度", "填报单位", "填报人", "联系电话", "填报日期", "模板版本")
DATA_COLUMNS = ("指标代码", "指标名称", "单位", "目标值", "本年值", "分子", "分母", "说明")
CSV_COLUMNS = ("行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明")
NUMBER_COLUMNS = {"本年值": "value", "分子": "numerator", "分母": "denominator"}
INPUT_COLUMNS = (*NUMBER_COLUMNS, "说明")  # what a county types; never a formula
SELF_CHECK = "自查"  # the template's self-check column; its hidden helpers' names start so too
WORKBOOK_KINDS = ("xlsx", "xls", "ods")
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MB = 1 << 20

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected xlsx
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What a county file may not exceed; checked before the file is parsed."""

    file_bytes: int
    xlsx_bytes: int  # all members of an xlsx or ods zip, uncompressed
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
    kind: str  # the format read: xlsx, xls, ods or csv (a renamed file is read as what it is)
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

    @property
    def is_workbook(self) -> bool:
        """A workbook with the template's sheets (not a CSV)."""
        return self.kind in WORKBOOK_KINDS

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


def cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if cell.__class__ is str and cell.isascii():  # NFKC leaves ASCII as it is
        return cell.strip()
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell)).strip()


def shown(value: Any, limit: int = 60) -> str:
    """A cell as quoted back in a message: short enough for a report line."""
    text = cell_text(value)
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def mb(size: float) -> str:
    return f"{size / MB:.1f}"
