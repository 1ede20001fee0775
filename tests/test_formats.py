"""Workbooks as the counties' office suites save them, and the 预审 (pre-check) folder.

LibreOffice re-saves real templates as .xls and .ods; they are read with the xlsx's values and
the same problems in the same cells. A file in ``<inbox>/<region>/预审/`` is answered in
``回执/`` and changes nothing in the warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from planstats import pipeline
from planstats.intake import Submission, read_submission
from tests.conftest import ENYANG
from tests.office import convert, office_profile  # noqa: F401  (fixture)

WAREHOUSE_TABLES = ("submission", "fact_value", "review_event", "agg_indicator_value",
                    "agg_completeness")


def planted(wb: Any) -> None:
    """Mistakes a county makes in any office suite: merged value cells and a formula typed."""
    ws = wb["指标数据"]
    ws.merge_cells("E7:E9")
    ws["E5"] = "=1+1"


def where(sub: Submission) -> set[tuple]:
    return {(i.rule, i.sheet, i.row, i.column) for i in sub.issues}


def values(sub: Submission) -> set[tuple]:
    return {(r.row, r.indicator_code, r.value, r.numerator, r.denominator, r.note)
            for r in sub.rows}


@pytest.fixture
def resaved(make_workbook, tmp_path, office_profile):  # noqa: F811
    """A good and a mistaken workbook, each as xlsx and as LibreOffice's .xls and .ods."""
    from openpyxl import load_workbook

    good = make_workbook(tmp_path / "good.xlsx")
    wrong = tmp_path / "wrong.xlsx"
    wb = load_workbook(good)
    planted(wb)
    wb.save(wrong)
    out = tmp_path / "lo"
    saved = convert([good, wrong], out, office_profile, "xls")
    saved += convert([good, wrong], out, office_profile, "ods")
    return {"good.xlsx": good, "wrong.xlsx": wrong, **{p.name: p for p in saved}}


def test_xls_and_ods_read_as_the_xlsx_with_the_same_problems_in_the_same_cells(resaved):
    good, wrong = (read_submission(resaved[f"{n}.xlsx"]) for n in ("good", "wrong"))
    assert good.rows and not good.issues
    assert {("merged_cells", "指标数据", 7, "E"), ("formula", "指标数据", 5, "E")} <= where(wrong)
    for kind in ("xls", "ods"):
        sub = read_submission(resaved[f"good.{kind}"])
        assert sub.kind == kind and sub.is_workbook
        assert values(sub) == values(good), kind
        assert {k: v for k, v in sub.info.items() if not k.endswith("@row")} == {
            k: v for k, v in good.info.items() if not k.endswith("@row")}
        assert not sub.issues, sub.issues
        assert where(read_submission(resaved[f"wrong.{kind}"])) == where(wrong), kind


def table_snapshot(ctx) -> dict[str, list]:
    with ctx.warehouse.engine.connect() as conn:
        return {t: sorted(map(tuple, conn.execute(text(f"select * from {t}"))), key=repr)
                for t in WAREHOUSE_TABLES}


def test_a_precheck_is_answered_in_receipts_and_changes_nothing_in_the_warehouse(
        ctx, resaved):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    shutil.copy(resaved["good.xlsx"], folder / "正式.xlsx")
    assert pipeline.ingest(ctx=ctx)[0]["status"] == "accepted"
    before = table_snapshot(ctx)
    assert before["fact_value"], "a loaded submission to compare against"

    pre = folder / pipeline.PRECHECK
    pre.mkdir()
    shutil.copy(resaved["wrong.xls"], pre / "恩阳区2023.xls")
    shutil.copy(resaved["good.ods"], pre / "恩阳区2023修订.ods")
    assert pipeline.scan_inbox(ctx) == [], "a pre-check is never a submission"
    assert len(pipeline.scan_prechecks(ctx)) == 2
    outcomes = {Path(o["file"]).name: o for o in pipeline.precheck(ctx=ctx)}

    assert table_snapshot(ctx) == before, "a pre-check writes nothing to the warehouse"
    assert pipeline.ingest(ctx=ctx) == [], "nor leaves anything for the next ingest"
    assert list(pre.iterdir()) == []
    wrong, good = outcomes["恩阳区2023.xls"], outcomes["恩阳区2023修订.ods"]
    assert wrong["status"] == "rejected" and good["status"] == "accepted"
    assert {"merged_cells", "formula"} <= {i["rule"] for i in wrong["issues"]}
    assert good["summary"]["unchanged"] == len(before["fact_value"]), "compared, not loaded"
    for outcome in outcomes.values():
        stored = Path(outcome["stored_path"])
        assert stored.parent == ctx.settings.archive / pipeline.PRECHECK / ENYANG
        assert stored.read_bytes() == resaved[
            "wrong.xls" if stored.suffix == ".xls" else "good.ods"].read_bytes(), "kept whole"

    receipts = folder / pipeline.RECEIPTS
    names = {p.name for p in receipts.iterdir()}
    assert {"恩阳区2023.预审回执.txt", "恩阳区2023.预审报告.html", "恩阳区2023.预审.批注.xlsx",
            "恩阳区2023修订.预审回执.txt", "恩阳区2023修订.预审报告.html"} <= names
    receipt = (receipts / "恩阳区2023.预审回执.txt").read_text(encoding="utf-8")
    assert "没有入库" in receipt and "北京时间" in receipt
    report = (receipts / "恩阳区2023.预审报告.html").read_text(encoding="utf-8")
    assert "预审报告" in report and "预审未通过" in report and "数据已接收入库" not in report

    from openpyxl import load_workbook

    marked = load_workbook(receipts / "恩阳区2023.预审.批注.xlsx")  # the .xls comes back as xlsx
    assert marked.sheetnames[0] == "审核问题" and "未入库" in marked["审核问题"]["A1"].value
    assert "公式" in marked["指标数据"]["E5"].comment.text
    assert marked["指标数据"]["A4"].value == "ZB0001", "the county's cells are all there"


def test_a_rejected_ods_submission_gets_its_marked_copy_as_xlsx(ctx, resaved):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    shutil.copy(resaved["wrong.ods"], folder / "恩阳区.ods")
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "rejected"
    marked = Path(outcome["annotated"])
    assert marked.name.endswith(".批注.xlsx")
    assert (folder / pipeline.RECEIPTS / "恩阳区.批注.xlsx").exists()
    from openpyxl import load_workbook

    cell = load_workbook(marked)["指标数据"]["E7"]
    assert "合并单元格" in cell.comment.text
