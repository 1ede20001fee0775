"""The county's own workbook returned with its problems marked on the cells.

A copy is written, never the county's file: red fill for errors, yellow for warnings, a cell
comment with the message, and a first sheet 审核问题 listing every problem with a link to its
cell. An .xls or .ods comes back as an .xlsx holding its values. A CSV submission (or a workbook
that cannot be opened) gets a CSV of the problems instead.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog
from planstats.intake import WORKBOOK_KINDS
from planstats.issues import ERROR, Issue
from planstats.sheets import safe_text
from planstats.validate import Checked, sorted_issues

ISSUES_SHEET = "审核问题"
ERROR_FILL, ERROR_EDGE = "FFC7CE", "C00000"
WARNING_FILL, WARNING_EDGE = "FFD966", "BF8F00"  # darker than the template's pale input yellow
HEADERS = ("级别", "工作表", "单元格", "行", "列", "指标代码", "指标名称", "填写的值",
           "问题与修改方法", "规则")
AUTHOR = "planstats 审核"
log = logging.getLogger(__name__)
SEVERITY_LABELS = {ERROR: "错误", "warning": "提示"}


def annotated_name(name: str, kind: str) -> str:
    """``<file>.批注.xlsx`` for any workbook (.xls and .ods too), else ``<file>.问题清单.csv``."""
    return f"{name}.批注.xlsx" if kind in WORKBOOK_KINDS else f"{name}.问题清单.csv"


def write_annotated(checked: Checked, catalog: Catalog, source: Path, out_dir: Path,
                    name: str, precheck: bool = False) -> Path | None:
    """Write the marked-up copy of ``source`` as ``out_dir/<name>.批注.xlsx`` (or the CSV).

    Nothing is written for a file without problems. Returns the path written. ``precheck``:
    the file came through 预审 and was not loaded, whatever its status.
    """
    issues = sorted_issues(checked.issues)
    if not issues:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    sub = checked.submission
    if sub.is_workbook and (sub.rows or sub.info):  # a workbook whose sheets could be read
        target = out_dir / annotated_name(name, sub.kind)
        partial = target.with_name(target.name + ".part")
        try:
            _mark_workbook(source, partial, issues, catalog, checked.status, sub.kind,
                           precheck)
            partial.replace(target)
            return target
        # openpyxl fails in many ways on files calamine reads; a county file that is merely odd
        # must not fail the run, so the county gets the CSV list instead
        except Exception:
            log.warning("cannot mark up %s; sending the problem list as CSV", source,
                        exc_info=True)
            partial.unlink(missing_ok=True)
    target = out_dir / annotated_name(name, "csv")
    write_issue_csv(issues, catalog, target)
    return target


def _rows(issues: list[Issue], catalog: Catalog) -> list[list[Any]]:
    out = []
    for i in issues:
        concept = catalog.concepts.get(i.indicator_code or "")
        cell = f"{i.column}{i.row}" if i.column and i.row else ""
        out.append([SEVERITY_LABELS.get(i.severity, i.severity), i.sheet or "", cell,
                    i.row or "", i.column or "", i.indicator_code or "",
                    concept.name if concept else "",
                    "" if i.value is None else safe_text(i.value), safe_text(i.message), i.rule])
    return out


def write_issue_csv(issues: list[Issue], catalog: Catalog, path: Path) -> Path:
    """The problems as a CSV that Excel opens correctly (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(_rows(issues, catalog))
    return path


def _mark_workbook(source: Path, target: Path, issues: list[Issue], catalog: Catalog,
                   status: str, kind: str = "xlsx", precheck: bool = False) -> None:
    """Mark the cells on a copy of ``source`` saved as ``target`` (always an xlsx)."""
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Border, PatternFill, Side

    wb = load_workbook(source) if kind == "xlsx" else _as_xlsx(source)
    by_cell: dict[tuple[str, str], list[Issue]] = {}
    for issue in issues:
        if issue.sheet in wb.sheetnames and issue.row:
            by_cell.setdefault((issue.sheet, f"{issue.column or 'A'}{issue.row}"), []).append(issue)
    for (sheet, ref), found in by_cell.items():
        cell = wb[sheet][ref]
        error = any(i.severity == ERROR for i in found)
        fill, edge = (ERROR_FILL, ERROR_EDGE) if error else (WARNING_FILL, WARNING_EDGE)
        cell.fill = PatternFill("solid", fgColor=fill)
        side = Side(style="medium", color=edge)
        cell.border = Border(left=side, right=side, top=side, bottom=side)
        text = "\n".join(f"【{SEVERITY_LABELS.get(i.severity, i.severity)}】{i.message}"
                         for i in found)
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 360, 40 + 18 * (len(text) // 22 + len(found))
        cell.comment = comment
    _issues_sheet(wb, issues, catalog, status, precheck)
    wb.save(target)


def _as_xlsx(source: Path) -> Any:
    """An .xls or .ods as a new xlsx workbook: every sheet's values in their cells, visibility
    kept (formatting is not carried over; the county's file itself is never changed)."""
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    book = CalamineWorkbook.from_path(str(source))
    wb = Workbook()
    wb.remove(wb.active)
    for meta in book.sheets_metadata:
        ws = wb.create_sheet(meta.name)
        if meta.visible != SheetVisibleEnum.Visible:
            ws.sheet_state = "hidden"
        for row in book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False):
            ws.append([safe_text(value) if value != "" else None for value in row])
    return wb


def _issues_sheet(wb: Any, issues: list[Issue], catalog: Catalog, status: str,
                  precheck: bool = False) -> None:
    """A first sheet listing every problem, each linked to its cell."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    from planstats.sheets import fit_to_page_width, row_height

    ws = wb.create_sheet(ISSUES_SHEET, 0)
    errors = sum(i.severity == ERROR for i in issues)
    warnings = len(issues) - errors
    verdict = {"rejected": "退回：本文件未入库，请修改红色单元格后重新提交。",
               "accepted_with_warnings": "已接收：黄色单元格请核对，无误的请在“说明”列写明原因。",
               "accepted": "已接收。"}.get(status, "")
    if precheck:
        verdict = {"rejected": "预审未通过（未入库）：请修改红色单元格，通过后再正式报送。"}.get(
            status, "预审通过（未入库）：黄色单元格请核对；正式报送请放入本县文件夹。")
    ws["A1"] = f"{'预审结果' if precheck else '审核结果'}　{verdict}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (f"错误 {errors} 个（红色，必须修改）；提示 {warnings} 个（黄色，核对后可在“说明”列"
                "说明）。点“单元格”列可跳到该单元格，单元格批注中有问题说明。")
    ws.append([])
    ws.append(list(HEADERS))
    for cell in ws[4]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
    for issue, values in zip(issues, _rows(issues, catalog), strict=True):
        ws.append(values)
        row = ws.max_row
        fill = ERROR_FILL if issue.severity == ERROR else WARNING_FILL
        ws.cell(row=row, column=1).fill = PatternFill("solid", fgColor=fill)
        if values[2] and issue.sheet in wb.sheetnames:
            link = ws.cell(row=row, column=3)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{issue.sheet}'!{values[2]}")
            link.font = Font(color="0563C1", underline="single")
        for cell in ws[row]:
            cell.alignment = Alignment(vertical="top", wrap_text=cell.column in (7, 9))
        ws.row_dimensions[row].height = row_height([(values[6], 24), (values[8], 56)])
    for letter, width in zip("ABCDEFGHIJ", (6, 10, 8, 5, 4, 9, 24, 10, 56, 16), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A5"
    fit_to_page_width(ws, title_rows="4:4")
    wb.active = 0
    for sheet in wb.worksheets[1:]:
        sheet.sheet_view.tabSelected = False
