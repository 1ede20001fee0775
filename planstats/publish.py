"""What people read: submission reports, the reviewer index, and the statistics workbook."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog, Plan
from planstats.regions import RegionTree
from planstats.review import LABELS as REVIEW_LABELS
from planstats.rollup import StatRow
from planstats.sheets import fit_to_page_width, row_height, safe_text
from planstats.validate import Checked, sorted_issues

STATUS_LABELS = {"accepted": "通过", "accepted_with_warnings": "通过（有提示）", "rejected": "退回"}
ADVICE = {
    "accepted": "数据已接收入库，无需处理。",
    "accepted_with_warnings": "数据已接收入库。带“提示”的数值标为“待核实”：请核对，"
                              "确认无误的在“说明”列写明原因后重新提交。",
    "rejected": "文件未入库。请按问题清单逐项修改后重新放入共享文件夹；本次提交的数据均未生效。",
}


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from planstats.settings import Settings

    return Environment(loader=FileSystemLoader(Settings.from_env().include_dir / "templates"),
                       autoescape=select_autoescape(["html", "j2"]))


def write_submission_report(checked: Checked, regions: RegionTree, catalog: Catalog,
                            html_path: Path, processed_at: str) -> Path:
    sub = checked.submission
    issues = []
    for issue in sorted_issues(checked.issues):
        item = issue.to_dict()
        concept = catalog.concepts.get(issue.indicator_code or "")
        item["indicator_name"] = concept.name if concept else ""
        issues.append(item)
    context = {
        "region_name": regions.name(sub.region_code or sub.folder),
        "year": sub.year, "file_name": sub.path.name, "received_at": sub.received_at,
        "processed_at": processed_at, "status": checked.status,
        "status_label": STATUS_LABELS[checked.status], "advice": ADVICE[checked.status],
        "summary": checked.summary, "issues": issues,
        "errors": sum(i["severity"] == "error" for i in issues),
        "warnings": sum(i["severity"] == "warning" for i in issues),
    }
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(_env().get_template("submission_report.html.j2").render(**context),
                         encoding="utf-8")
    html_path.with_suffix(".json").write_text(
        json.dumps(checked.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return html_path


def write_review_index(year: int, rows: list[dict[str, Any]], path: Path,
                       data_docs: Path | None) -> Path:
    for row in rows:
        report = row.get("report_path")
        row["report_href"] = os.path.relpath(report, path.parent) if report else None
    counts = [(STATUS_LABELS[s], sum(r["status"] == s for r in rows)) for s in STATUS_LABELS]
    html = _env().get_template("review_index.html.j2").render(
        year=year, rows=rows, counts=counts, labels=STATUS_LABELS, review_labels=REVIEW_LABELS,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data_docs=(os.path.relpath(data_docs, path.parent)
                   if data_docs and data_docs.exists() else None))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _display(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".") + ("%" if unit == "%" else "")


STAT_HEADERS = ("序号", "类别", "指标", "单位", "目标值", "属性", "年度值", "完成情况", "完成率",
                "序时进度值", "报送地区", "应报地区", "指标代码")


def _table(plan: Plan, rows: list[StatRow], region: str) -> list[list[Any]]:
    by_code = {r.indicator_code: r for r in rows if r.region_code == region}
    out = []
    for ind in plan.indicators:
        r = by_code.get(ind.code)
        if r is None:
            continue
        out.append([ind.seq, ind.category, ind.name, ind.concept.unit, ind.target_text,
                    ind.attribute, None if r.value is None else round(r.value, 4), r.status,
                    None if r.completion_rate is None else round(r.completion_rate, 4),
                    None if r.expected_value is None else round(r.expected_value, 4),
                    r.reporting_regions, r.expected_regions, ind.code])
    return out


def write_statistics(plan: Plan, year: int, rows: list[StatRow], regions: RegionTree,
                     out_dir: Path) -> dict[str, Path]:
    """The 规划指标年度统计 of one plan and year as xlsx, CSV (UTF-8 with BOM) and JSON."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{plan.code}_{year}_规划指标年度统计"
    paths = {"xlsx": out_dir / f"{stem}.xlsx", "csv": out_dir / f"{stem}.csv",
             "json": out_dir / f"{stem}.json"}
    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    fills = {"达标": "D9EAD3", "未达标": "FFF2CC", "缺报": "F4CCCC"}

    wb = Workbook()
    wb.remove(wb.active)
    region_codes = list(dict.fromkeys(r.region_code for r in rows))
    sheets = [c for c in region_codes if c == plan.region_code
              or (c in regions and regions[c].parent == plan.region_code)]
    for region in sheets:
        table = _table(plan, rows, region)
        title = plan.short_name if region == plan.region_code else regions.name(region)
        ws = wb.create_sheet(title[:31])
        ws["A1"] = f"{plan.name} 规划指标年度统计（{year}年）"
        ws["A1"].font = Font(bold=True, size=14)
        ws["A2"] = (f"填报口径：{regions.name(region)}（{region}），统计年度 {year}；"
                    "比率类指标按Σ分子÷Σ分母汇总；“缺报”表示无数据。")
        ws["A2"].font = Font(color="595959")
        ws.append([])
        ws.append(list(STAT_HEADERS))
        for cell in ws[4]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F4E79")
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = border
        for line in table:
            ws.append([safe_text(v) for v in line])
            for cell in ws[ws.max_row]:
                cell.border = border
                cell.alignment = Alignment(vertical="center", wrap_text=cell.column == 3)
            ws.row_dimensions[ws.max_row].height = row_height([(line[2], 46)])
            ws.cell(row=ws.max_row, column=9).number_format = "0.0%"
        last = max(ws.max_row, 5)
        for status, color in fills.items():
            ws.conditional_formatting.add(
                f"H5:H{last}", CellIsRule(operator="equal", formula=[f'"{status}"'],
                                          fill=PatternFill("solid", bgColor=color)))
        for letter, width in zip("ABCDEFGHIJKLM", (6, 12, 46, 8, 10, 8, 10, 10, 9, 11, 9, 9, 10),
                                 strict=True):
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "D5"
        fit_to_page_width(ws, title_rows="4:4")
    wb.save(paths["xlsx"])

    with paths["csv"].open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "行政区划", *STAT_HEADERS])
        for region in region_codes:
            for line in _table(plan, rows, region):
                writer.writerow([region, regions.name(region), *(safe_text(v) for v in line)])
    paths["json"].write_text(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=1),
                             encoding="utf-8")
    return paths
