import csv
import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from planstats import pipeline
from planstats.publish import _write_rows_json
from planstats.rollup import StatRow
from planstats.sheets import safe_text

ENYANG = "511903"


def test_statistics_workbook_csv_and_json(ctx, make_workbook):
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025,
                  overrides={"ZB0031": (None, None, None)})
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    wb = load_workbook(paths["xlsx"])
    ws = wb.worksheets[0]
    assert "规划指标年度统计（2025年，期末评估）" in ws["A1"].value
    assert [c.value for c in ws[4]][:8] == ["序号", "类别", "指标", "单位", "目标值", "属性",
                                             "年度值", "完成情况"]
    assert ws.freeze_panes == "D5"
    statuses = [ws.cell(row=r, column=8).value for r in range(5, 5 + 37)]
    assert statuses[30] == "缺报" and set(statuses) <= {"达标", "未达标", "缺报"}
    assert Path(paths["csv"]).read_bytes().startswith(b"\xef\xbb\xbf")
    with open(paths["csv"], encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 38 and rows[0][0] == "行政区划代码"
    published = pipeline.statistics("enyang-14th", 2025, ctx)
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8")) == json.loads(
        json.dumps([r.to_dict() for r in published]))


def test_statistics_sheet_styles(ctx, make_workbook):
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025)
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2025, ctx)
    paths = pipeline.publish_statistics("enyang-14th", 2025, ctx.settings.publish, ctx)
    ws = load_workbook(paths["xlsx"]).worksheets[0]
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and ws["A2"].font.color.rgb == "00595959"
    header = ws["E4"]
    assert header.font.b and header.font.color.rgb == "00FFFFFF"
    assert header.fill.fgColor.rgb == "001F4E79" and header.alignment.horizontal == "center"
    name, value, rate = ws["C5"], ws["G5"], ws["I5"]
    assert name.alignment.wrap_text and not value.alignment.wrap_text
    assert value.alignment.vertical == "center" and value.border.left.style == "thin"
    assert value.border.bottom.color.rgb == "00BFBFBF" and value.font.name == "Calibri"
    assert rate.number_format == "0.0%" and not ws["A1"].border.left.style
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert [r.formula for r in rules] == [['"达标"'], ['"未达标"'], ['"缺报"']]


def _row(region: str, **fields: Any) -> StatRow:
    values = {"plan_code": "p", "region_code": region, "indicator_code": "ZB0001", "year": 2025,
              "value": 1 / 3, "numerator": None, "denominator": None, "target": 90.0,
              "comparator": ">=", "status": "未达标", "completion_rate": 0.123456789,
              "reporting_regions": 1, "expected_regions": 2, "direct": True,
              "expected_value": None, "on_track": False}
    return StatRow(**{**values, **fields})


def test_statistics_json_one_row_a_line(tmp_path):
    rows = [_row("511900", missing_regions=("511923", "5119\"24")), _row("511902"),
            _row("511903", value=None, on_track=None, status="缺报 \n=x", expected_value=2.5),
            _row("511921", missing_regions=("511921",))]
    path = tmp_path / "rows.json"
    for case in (rows, rows[1:3], []):
        _write_rows_json(case, path)
        text = path.read_text(encoding="utf-8")
        assert json.loads(text) == json.loads(json.dumps([r.to_dict() for r in case]))
        assert len(text.splitlines()) == (len(case) + 2 if case else 1)
    assert json.loads(path.read_text(encoding="utf-8")) == [] and [*tmp_path.iterdir()] == [path]


def test_cells_that_spreadsheets_would_run_are_neutralised():
    assert safe_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("-1+2") == "'-1+2"
    assert safe_text(-5) == -5
    assert safe_text("达标") == "达标"
