import csv
from pathlib import Path

from openpyxl import load_workbook

from planstats import pipeline
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


def test_cells_that_spreadsheets_would_run_are_neutralised():
    assert safe_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("-1+2") == "'-1+2"
    assert safe_text(-5) == -5
    assert safe_text("达标") == "达标"
