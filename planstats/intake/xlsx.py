"""xlsx: the template's sheets, read with python-calamine once the package passed its checks;
hidden sheets, merged cells and formulas in typed columns are reported."""

from __future__ import annotations

import io
import posixpath
import zipfile
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
from planstats.intake.zipcheck import open_zip, sheet_cells, verify_members

MAX_FORMULA_ISSUES = 200


def read_xlsx(sub: Submission, data: bytes, limits: Limits) -> None:
    book = open_zip(sub, data, limits)
    if book is None:
        return
    zf, sheets = book
    names = {cell_text(name): name for name in sheets}
    if DATA_SHEET not in names:
        sub.fail("missing_sheet", f"缺少工作表“{DATA_SHEET}”，请使用下发的填报模板。",
                 f"sheet {DATA_SHEET!r} is missing", sheet=DATA_SHEET)
        return
    wanted = {name: sheets[names[name]] for name in (INFO_SHEET, DATA_SHEET) if name in names}
    scans = verify_members(sub, zf, {part for part, _ in wanted.values()}, set(
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
            sheet_too_large(sub, name, scan.height, scan.width, limits)
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
        read_info(sub, info_rows)
    else:
        sub.fail("missing_sheet", f"缺少工作表“{INFO_SHEET}”，请使用下发的填报模板。",
                 f"sheet {INFO_SHEET!r} is missing", sheet=INFO_SHEET)
    table = read_table(sub, data_rows, DATA_SHEET, first_row=1)
    if table is None:
        return
    header_row, header = table
    _check_merged(sub, merged, header_row)
    if scans[wanted[DATA_SHEET][0].lower()].formulas:
        _check_formulas(sub, zf, wanted[DATA_SHEET][0], header_row, header)


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
    for row, col, formula in sheet_cells(zf, info):
        if formula is None or row <= header_row or col not in columns:
            continue
        found += 1
        if found > MAX_FORMULA_ISSUES:
            break
        ref = f"{column_letter(col)}{row}"
        quoted = shown("=" + formula) if formula else "（共享公式）"
        sub.error("formula", f"“{columns[col]}”单元格 {ref} 是公式（{quoted}）。请直接填写数值，"
                  "不要使用公式或链接。", f"formula in {columns[col]} cell {ref}; type the value",
                  sheet=DATA_SHEET, row=row, column=column_letter(col), value=quoted)
