"""What every workbook format shares once its package passed its own checks: the template's
sheets found by name, each sheet's extent and visibility held to the limits, the cells read
with python-calamine, and merged cells and formulas in the typed columns reported."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from planstats.intake.model import (
    DATA_SHEET,
    INFO_SHEET,
    INPUT_COLUMNS,
    Limits,
    Submission,
    cell_text,
    column_letter,
    shown,
)
from planstats.intake.table import read_info, read_table, sheet_too_large

MAX_FORMULA_ISSUES = 200
VISIBLE = "visible"
Merged = tuple[tuple[int, int], tuple[int, int]]  # (first row, column), (last row, column) from 0
# row from 1, column from 0, formula text ("" when not known; None: a value, not a formula)
FormulaCell = tuple[int, int, str | None]


@dataclass
class SheetFacts:
    """A sheet as measured on the raw file, before the reader lays it out (rows × columns)."""

    state: str = VISIBLE
    height: int = 0
    width: int = 0
    formulas: list[FormulaCell] = field(default_factory=list)
    merged: list[Merged] | None = None  # None: the reader reports them


def template_sheets(sub: Submission, names: Iterable[str]) -> dict[str, str] | None:
    """The workbook's sheet names by their normalised form; None after failing without 指标数据."""
    found = {cell_text(name): name for name in names}
    if DATA_SHEET not in found:
        sub.fail("missing_sheet", f"缺少工作表“{DATA_SHEET}”，请使用下发的填报模板。",
                 f"sheet {DATA_SHEET!r} is missing", sheet=DATA_SHEET)
        return None
    return found


def check_extent(sub: Submission, name: str, facts: SheetFacts, limits: Limits) -> None:
    """Rows and cells within the limits (fatal otherwise); a hidden sheet the county must see."""
    if facts.height > limits.rows:
        sub.fail("too_many_rows", f"工作表“{name}”有 {facts.height} 行，"
                 f"超过上限 {limits.rows} 行。请只保留本县（含下辖单位）的指标数据，"
                 "删除多余的行后重新提交。",
                 f"sheet {name!r} has {facts.height} rows, over the limit of {limits.rows}",
                 sheet=name)
    elif facts.height * facts.width > limits.cells:
        sheet_too_large(sub, name, facts.height, facts.width, limits)
    if facts.state != VISIBLE and name in (INFO_SHEET, DATA_SHEET):
        sub.error("hidden_sheet", f"工作表“{name}”被隐藏了。系统读取的正是这张表，"
                  "请在 Excel 中取消隐藏、核对其中的数据后再提交。",
                  f"sheet {name!r} is {facts.state}", sheet=name)


def read_template_sheets(sub: Submission, data: bytes, names: dict[str, str],
                         merged: list[Merged] | None = None
                         ) -> tuple[int, dict[str, int]] | None:
    """Read 填报信息 and 指标数据 with calamine; (header row, column by name) of the table.

    ``merged`` replaces the reader's merged ranges for formats where it reports none (ods).
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        info_rows = None
        if INFO_SHEET in names:
            info_rows = workbook.get_sheet_by_name(names[INFO_SHEET]).to_python(
                skip_empty_area=False)
        sheet = workbook.get_sheet_by_name(names[DATA_SHEET])
        data_rows = sheet.to_python(skip_empty_area=False)
        if merged is None:
            merged = sheet.merged_cell_ranges or []
    except Exception as exc:  # whatever the reader raises, the county sees one line
        sub.fail("file_unreadable", "文件无法读取，可能已损坏，请用 Excel 打开后重新保存再提交。",
                 f"cannot read workbook: {str(exc)[:200]}")
        return None
    sub.cells_read = True
    if info_rows is not None:
        read_info(sub, info_rows)
    else:
        sub.fail("missing_sheet", f"缺少工作表“{INFO_SHEET}”，请使用下发的填报模板。",
                 f"sheet {INFO_SHEET!r} is missing", sheet=INFO_SHEET)
    table = read_table(sub, data_rows, DATA_SHEET, first_row=1)
    if table is not None:
        _check_merged(sub, merged, table[0])
    return table


def read_measured(sub: Submission, data: bytes, sheets: dict[str, SheetFacts],
                  limits: Limits) -> None:
    """What follows once a format has measured its sheets: the template's sheets found, each
    held to the limits, then read, with the formulas of the data sheet reported."""
    names = template_sheets(sub, sheets)
    if names is None:
        return
    for name, facts in sheets.items():
        check_extent(sub, name, facts, limits)
    if sub.fatal:
        return
    data_sheet = sheets[names[DATA_SHEET]]
    table = read_template_sheets(sub, data, names, merged=data_sheet.merged)
    if table is not None:
        check_formulas(sub, data_sheet.formulas, *table)


def _check_merged(sub: Submission, merged: list[Any], header_row: int) -> None:
    for (r0, c0), (r1, c1) in merged:
        if r1 + 1 < header_row:
            continue  # titles above the table may be merged
        area = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
        sub.error("merged_cells", f"“{DATA_SHEET}”中 {area} 是合并单元格。请取消合并，"
                  "每个指标占一行、每个值填在自己的单元格里。", f"merged cells {area} in the table",
                  sheet=DATA_SHEET, row=r0 + 1, column=column_letter(c0), value=area)


def _typed_columns(header: dict[str, int]) -> dict[int, str]:
    return {header[name]: name for name in INPUT_COLUMNS if name in header}


def typed_formulas(cells: Iterable[tuple[int, int]], header_row: int,
                   header: dict[str, int]) -> bool:
    """Whether any formula (row from 1, column from 0) sits in a column a county types into."""
    columns = _typed_columns(header)
    return any(row > header_row and col in columns for row, col in cells)


def check_formulas(sub: Submission, cells: Iterable[FormulaCell], header_row: int,
                   header: dict[str, int]) -> None:
    """Formulas in the columns a county types into: the cached result is not what was typed."""
    columns = _typed_columns(header)
    found = 0
    for row, col, formula in cells:
        if formula is None or row <= header_row or col not in columns:
            continue
        found += 1
        if found > MAX_FORMULA_ISSUES:
            break
        ref = f"{column_letter(col)}{row}"
        quoted = shown("=" + formula) if formula else ""  # shared (xlsx) or tokenised (xls)
        sub.error("formula", f"“{columns[col]}”单元格 {ref} 是公式"
                  f"{f'（{quoted}）' if quoted else ''}。请直接填写数值，不要使用公式或链接。",
                  f"formula in {columns[col]} cell {ref}; type the value",
                  sheet=DATA_SHEET, row=row, column=column_letter(col), value=quoted or None)
