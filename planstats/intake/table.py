"""The table, from any kind of file: the 填报信息 key/value rows and the 指标数据 rows under a
header found by name, each value remembering its cell."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from planstats.intake.model import (
    INFO_KEYS,
    INFO_SHEET,
    MAX_CELL_CHARS,
    NUMBER_COLUMNS,
    SELF_CHECK,
    Limits,
    Submission,
    ValueRow,
    cell_text,
    column_letter,
    shown,
)
from planstats.values import ValueParseError, parse_number


def sheet_too_large(sub: Submission, sheet: str, height: int, width: int, limits: Limits) -> None:
    area = f"A1:{column_letter(max(width, 1) - 1)}{max(height, 1)}"
    sub.fail("sheet_too_large", f"工作表“{sheet}”的数据区域过大（{area}，"
             f"约 {height * width} 个单元格，上限 {limits.cells}）。通常是表格以外很远的单元格"
             "有内容，请删除表格以外的行和列后重新提交。",
             f"sheet {sheet!r} spans {area}, over the limit of {limits.cells} cells", sheet=sheet)



def read_info(sub: Submission, rows: list[list[Any]]) -> None:
    for r_index, row in enumerate(rows, start=1):
        if len(row) < 2:
            continue
        key = cell_text(row[0]).rstrip(":：")
        if key in INFO_KEYS:
            if isinstance(row[1], str) and len(row[1]) > MAX_CELL_CHARS:
                _cell_too_long(sub, INFO_SHEET, r_index, "B", key, len(row[1]))
                continue
            sub.info[key] = cell_text(row[1])
            sub.info[f"{key}@row"] = str(r_index)


def _cell_too_long(sub: Submission, sheet: str, row: int, column: str, name: str,
                   length: int, indicator_code: str | None = None) -> None:
    sub.error("cell_too_long", f"“{name}”单元格 {column}{row} 内容过长（{length} 个字符，"
              f"上限 {MAX_CELL_CHARS}）。请只填写数值或简短说明。",
              f"cell {name} is {length} characters long", sheet=sheet, row=row, column=column,
              indicator_code=indicator_code)


def read_table(sub: Submission, rows: list[list[Any]], sheet: str, first_row: int,
               long_cells: bool = True) -> tuple[int, dict[str, int]] | None:
    """Rows under the header into ``sub.rows``; returns (header row number, column by name).

    ``long_cells`` False: the caller knows no cell exceeds MAX_CELL_CHARS (not looked for).
    """
    header_index = None
    for index, row in enumerate(rows[:30]):
        if "指标代码" in {cell_text(c) for c in row}:
            header_index = index
            break
    if header_index is None:
        sub.fail("missing_header", f"在“{sheet}”中找不到表头行（应含“指标代码”“本年值”等列）。",
                 f"no header row with 指标代码 in {sheet!r}", sheet=sheet)
        return None
    header = {cell_text(c): i for i, c in enumerate(rows[header_index]) if cell_text(c)}
    needed = ("指标代码", "本年值") + (("行政区划代码", "统计年度") if sub.kind == "csv" else ())
    for name in needed:
        if name not in header:
            sub.fail("missing_column", f"“{sheet}”缺少“{name}”列。", f"column {name!r} is missing",
                     sheet=sheet, row=header_index + first_row)
    if sub.fatal:
        return None
    # the template's self-check columns (自查…) are its formulas' output: nothing to read there
    read = {name: i for name, i in header.items() if not name.startswith(SELF_CHECK)}
    letters = {name: column_letter(i) for name, i in read.items()}  # one dict, every row's
    names, width = tuple(read), max(read.values()) + 1
    take = itemgetter(*read.values())
    numbers = [(column, attr) for column, attr in NUMBER_COLUMNS.items() if column in read]
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        excel_row = index + first_row
        if len(row) < width:
            row = [*row, *([""] * (width - len(row)))]
        cells = dict(zip(names, take(row), strict=True))
        too_long = {name: len(cell) for name, cell in cells.items()
                    if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS} if long_cells else {}
        for name in too_long:
            cells[name] = ""
        code = cell_text(cells.get("指标代码")).upper()
        for name, length in too_long.items():
            _cell_too_long(sub, sheet, excel_row, letters[name], name, length, code or None)
        name = cell_text(cells.get("指标名称"))
        if not code and not name:
            continue  # blank or note rows between and after the table
        item = ValueRow(excel_row, code, name, cell_text(cells.get("行政区划代码")) or None,
                        note=cell_text(cells.get("说明")), columns=letters, raw=cells)
        for column, attr in numbers:
            cell = cells[column]
            try:
                setattr(item, attr, parse_number(cell))
            except ValueParseError:
                where = {"indicator_code": code or None, "sheet": sheet, "row": excel_row,
                         "column": letters[column], "value": shown(cell)}
                if cell_text(cell).startswith("="):
                    sub.error("formula", f"“{column}”应直接填写数值，"
                              f"不能是公式（{shown(cell)}）。",
                              f"{column} must be a typed value, not a formula", **where)
                else:
                    sub.error("numeric", f"“{column}”应填写数字，实际为“{shown(cell)}”。",
                              f"{column} must be a number", **where)
        sub.rows.append(item)
    return header_index + first_row, header
