"""Reading county files from the landing zone into rows that remember their cell.

xlsx (the template's three sheets) and CSV (UTF-8, UTF-8 with BOM, GBK) are read into the same
``Submission``. Headers are found by name, not position; anything unreadable becomes an issue,
never an exception.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planstats.issues import ERROR, Issue
from planstats.values import ValueParseError, parse_number

INFO_SHEET = "填报信息"
DATA_SHEET = "指标数据"
GUIDE_SHEET = "填报说明"
INFO_KEYS = ("行政区划代码", "统计年度", "填报单位", "填报人", "联系电话", "填报日期", "模板版本")
DATA_COLUMNS = ("指标代码", "指标名称", "单位", "目标值", "本年值", "分子", "分母", "说明")
CSV_COLUMNS = ("行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明")
NUMBER_COLUMNS = {"本年值": "value", "分子": "numerator", "分母": "denominator"}
SUFFIXES = (".xlsx", ".csv")


@dataclass
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


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell)).strip()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_submission(path: Path, folder: str | None = None) -> Submission:
    """Read a county file. ``folder`` is the landing-zone folder (region code) it was found in."""
    stat = path.stat()
    sub = Submission(
        path=path,
        folder=folder or "",
        file_hash=file_hash(path),
        received_at=datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds"),
        kind=path.suffix.lower().lstrip("."),
    )
    if sub.kind == "xlsx":
        _read_xlsx(sub)
    elif sub.kind == "csv":
        _read_csv(sub)
    else:
        sub.fail("file_type", f"不支持的文件类型“{path.suffix}”，请提交 .xlsx 或 .csv 文件。",
                  f"unsupported file type {path.suffix!r}; send .xlsx or .csv")
    return sub


def _read_xlsx(sub: Submission) -> None:
    from python_calamine import CalamineError, CalamineWorkbook

    if not zipfile.is_zipfile(sub.path):
        sub.fail("file_unreadable", "文件无法打开：不是有效的 Excel（.xlsx）文件，可能已损坏或只是改了扩展名。",
                  "not a valid xlsx file (corrupt, truncated or renamed)")
        return
    try:
        book = CalamineWorkbook.from_path(str(sub.path))
        names = {_text(n): n for n in book.sheet_names}
        if DATA_SHEET not in names:
            sub.fail("missing_sheet", f"缺少工作表“{DATA_SHEET}”，请使用下发的填报模板。",
                      f"sheet {DATA_SHEET!r} is missing", sheet=DATA_SHEET)
            return
        if INFO_SHEET in names:
            info_rows = book.get_sheet_by_name(names[INFO_SHEET]).to_python(skip_empty_area=False)
            _read_info(sub, info_rows)
        data_rows = book.get_sheet_by_name(names[DATA_SHEET]).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        sub.fail("file_unreadable", "文件无法读取，可能已损坏，请重新保存后提交。",
                  f"cannot read workbook: {exc}")
        return
    if INFO_SHEET not in names:
        sub.fail("missing_sheet", f"缺少工作表“{INFO_SHEET}”，请使用下发的填报模板。",
                  f"sheet {INFO_SHEET!r} is missing", sheet=INFO_SHEET)
    _read_table(sub, data_rows, DATA_SHEET, first_row=1)


def _read_info(sub: Submission, rows: list[list[Any]]) -> None:
    for r_index, row in enumerate(rows, start=1):
        if len(row) < 2:
            continue
        key = _text(row[0]).rstrip(":：")
        if key in INFO_KEYS:
            sub.info[key] = _text(row[1])
            sub.info[f"{key}@row"] = str(r_index)


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(sub: Submission) -> None:
    text = _decode(sub.path.read_bytes())
    if text is None:
        sub.fail("file_encoding", "CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码。",
                  "CSV encoding is neither UTF-8 nor GBK")
        return
    sub.data_sheet = sub.path.name
    rows = list(csv.reader(io.StringIO(text)))
    _read_table(sub, rows, sub.path.name, first_row=1)
    regions = {r.region_code for r in sub.rows if r.region_code}
    years = {r.raw.get("统计年度") for r in sub.rows if r.raw.get("统计年度")}
    # The file's region is its county: rows may be the county itself or units below it.
    sub.info["行政区划代码"] = min(regions, key=len)[:6] if regions else ""
    if len(years) > 1:
        sub.error("mixed_years", f"一个文件只能填报一个统计年度，本文件含有：{'、'.join(sorted(years))}。",
                  "a file may carry one statistics year only", sheet=sub.data_sheet, column="统计年度")
    sub.info["统计年度"] = next(iter(years), "")


def _read_table(sub: Submission, rows: list[list[Any]], sheet: str, first_row: int) -> None:
    header_index = None
    for index, row in enumerate(rows[:30]):
        if "指标代码" in {_text(c) for c in row}:
            header_index = index
            break
    if header_index is None:
        sub.fail("missing_header", f"在“{sheet}”中找不到表头行（应含“指标代码”“本年值”等列）。",
                  f"no header row with 指标代码 in {sheet!r}", sheet=sheet)
        return
    header = {_text(c): i for i, c in enumerate(rows[header_index]) if _text(c)}
    needed = ("指标代码", "本年值") + (("行政区划代码", "统计年度") if sub.kind == "csv" else ())
    for name in needed:
        if name not in header:
            sub.fail("missing_column", f"“{sheet}”缺少“{name}”列。", f"column {name!r} is missing",
                      sheet=sheet, row=header_index + first_row)
    if sub.fatal:
        return
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        excel_row = index + first_row
        cells = {name: (row[i] if i < len(row) else "") for name, i in header.items()}
        code = _text(cells.get("指标代码")).upper()
        if not code and not _text(cells.get("指标名称")):
            continue  # blank or note rows between and after the table
        item = ValueRow(
            row=excel_row,
            indicator_code=code,
            name=_text(cells.get("指标名称")),
            region_code=_text(cells.get("行政区划代码")) or None,
            note=_text(cells.get("说明")),
            columns={name: column_letter(i) for name, i in header.items()},
            raw={name: cells.get(name) for name in header},
        )
        for column, attr in NUMBER_COLUMNS.items():
            if column not in header:
                continue
            try:
                setattr(item, attr, parse_number(cells.get(column)))
            except ValueParseError:
                sub.error("numeric", f"“{column}”应填写数字，实际为“{_text(cells.get(column))}”。",
                          f"{column} must be a number", indicator_code=code or None, sheet=sheet,
                          row=excel_row, column=column_letter(header[column]),
                          value=_text(cells.get(column)))
        sub.rows.append(item)
