"""The publication: completeness and timeliness, binding indicators, trend, workbook and
dashboard, on the hand-checked case of tests/rollup_case.py."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from planstats import pipeline
from tests.rollup_case import CITY, make_include, write_inbox

ON_TIME = datetime(2024, 1, 20, tzinfo=UTC).timestamp()
LATE = datetime(2024, 3, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def published(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(make_include(tmp_path)))
    ctx = pipeline.context()
    for year in (2022, 2023):
        write_inbox(ctx.settings.inbox, year)
        for county in ("511902", "511903", "511921", "511922"):
            stamp = LATE if (county == "511922" and year == 2023) else ON_TIME - 365 * 86400 * (
                2023 - year)
            os.utime(ctx.settings.inbox / county / f"{year}.csv", (stamp, stamp))
        pipeline.ingest(ctx=ctx)
        pipeline.run_rollup("test-city", year, ctx)
        paths = pipeline.publish_statistics("test-city", year, ctx=ctx)
    page = pipeline.publish_dashboard(2023, ctx)
    return ctx, paths, page


def test_completeness_and_timeliness_by_county(published):
    ctx, _, _ = published
    from planstats.rollup import completeness

    done = completeness(ctx.warehouse, ctx.catalog.plan("test-city"), 2023)
    assert (done.expected, done.received, done.on_time) == (5, 4, 3)
    assert done.missing == ["511923"]
    late = next(r for r in done.rows if r["region_code"] == "511922")
    assert late["received"] == 1 and late["on_time"] == 0
    assert late["due_at"] == datetime(2024, 1, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 Beijing


def test_missing_counties_are_named_on_the_rows_above_them(published):
    ctx, _, _ = published
    rows = {(r.region_code, r.indicator_code): r for r in pipeline.statistics("test-city", 2023,
                                                                               ctx)}
    assert rows[(CITY, "ZB9001")].to_dict()["missing_regions"] == ["511923"]


def test_workbook_has_binding_chart_trend_completeness_and_methods(published):
    _, paths, _ = published
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames[:1] == ["测试市"]
    assert {"约束性指标", "历年趋势", "报送情况", "说明"} <= set(wb.sheetnames)
    binding = wb["约束性指标"]
    assert binding["A2"].value.startswith("约束性指标 2 项，达标 0 项")
    assert len(binding._charts) == 1
    trend = wb["历年趋势"]
    header = [c.value for c in trend[4]]
    assert header[3:8] == ["2021年", "2022年", "2023年", "2024年", "2025年"]
    # "<year>年完成情况" is wider than its column: it wraps, and the header row is two lines tall
    assert header[8].endswith("年完成情况") and trend.row_dimensions[4].height == 30
    coverage = [c.value for c in trend[5]]
    assert coverage[4] == pytest.approx(80.0) and coverage[5] == pytest.approx(80.0)
    assert coverage[3] is None and coverage[6] is None
    assert "应报 5 个，已报 4 个（其中部分报送 0 个），按时 3 个" in wb["报送情况"]["A2"].value
    methods = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "Σ分子÷Σ分母" in methods and "不是各地百分比的平均" in methods


def test_dashboard_lists_plans_counts_categories_and_counties(published):
    _, _, page = published
    html = Path(page).read_text(encoding="utf-8")
    assert "测试市规划" in html and "报送情况" in html
    assert "511923" in html and html.count("<svg") == 1
    assert 'href="test-city_2023_规划指标年度统计.xlsx"' in html
