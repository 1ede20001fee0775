"""Roll-ups checked against values computed by hand (tests/rollup_case.py)."""

from pathlib import Path

import pytest

from planstats import pipeline
from tests.rollup_case import CITY, ROWS, TOWN_ROWS, make_include, write_inbox


def _rolled_up(tmp_path, monkeypatch, files=ROWS):
    """The test plan's 2023 files ingested and rolled up: the context and the outcomes."""
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(make_include(tmp_path)))
    ctx = pipeline.context()
    write_inbox(ctx.settings.inbox, 2023, files)
    outcomes = pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("test-city", 2023, ctx)
    return ctx, outcomes


def _stats(ctx):
    return {(r.region_code, r.indicator_code): r
            for r in pipeline.statistics("test-city", 2023, ctx)}


@pytest.fixture
def city_ctx(data_dir, tmp_path, monkeypatch):
    ctx, outcomes = _rolled_up(tmp_path, monkeypatch)
    assert {o["status"] for o in outcomes} == {"accepted"}, outcomes
    return ctx


@pytest.fixture
def city_stats(city_ctx):
    return _stats(city_ctx)


def test_rate_is_ratio_of_sums_not_mean_of_percentages(city_stats):
    city = city_stats[(CITY, "ZB9001")]
    # Σ分子 = 45 + 30 + (8 + 1) + 20 = 104, Σ分母 = 50 + 40 + (10 + 10) + 20 = 130
    assert (city.numerator, city.denominator) == (104, 130)
    assert city.value == pytest.approx(80.0)
    mean_of_percentages = (90 + 75 + 45 + 100) / 4
    assert city.value != pytest.approx(mean_of_percentages)
    assert city.status == "未达标" and city.completion_rate == pytest.approx(80 / 90)


def test_baseline_trajectory_judges_2023_before_2025(city_stats):
    city = city_stats[(CITY, "ZB9001")]
    assert city.expected_value == pytest.approx(70 + (90 - 70) * 3 / 5)  # 82
    assert city.on_track is False
    assert city_stats[("511922", "ZB9001")].on_track is True


def test_county_reporting_itself_is_not_counted_again_through_its_community(city_stats):
    enyang = city_stats[("511903", "ZB9001")]
    assert enyang.direct and enyang.value == pytest.approx(75.0)
    assert city_stats[(CITY, "ZB9002")].value == 30 + 20 + (4 + 6) + 15


def test_county_reporting_only_through_communities_is_aggregated(city_stats):
    tongjiang = city_stats[("511921", "ZB9001")]
    assert not tongjiang.direct
    assert (tongjiang.numerator, tongjiang.denominator) == (9, 20)
    assert tongjiang.value == pytest.approx(45.0)
    assert city_stats[("511921", "ZB9004")].value == pytest.approx(90.0)


def test_towns_sum_their_communities_and_a_reporting_town_hides_its_own(data_dir, tmp_path,
                                                                       monkeypatch):
    ctx, outcomes = _rolled_up(tmp_path, monkeypatch, TOWN_ROWS)
    # the town's empty rows are warned about (缺报)
    assert {o["status"] for o in outcomes} == {"accepted", "accepted_with_warnings"}, outcomes
    stats = _stats(ctx)
    quiet_town, county = stats[("511922101", "ZB9001")], stats[("511922", "ZB9001")]
    assert stats[("511922100", "ZB9002")].direct and not quiet_town.direct
    assert (quiet_town.numerator, quiet_town.denominator) == (4, 8)
    assert stats[("511922101", "ZB9004")].value == pytest.approx((60 * 30 + 90 * 10) / 40)
    # the county: town 511922100's own report and town 511922101's communities, not 511922100001
    assert not county.direct and (county.numerator, county.denominator) == (24, 28)
    assert stats[("511922", "ZB9002")].value == 15 + 2 + 4
    assert stats[("511922", "ZB9004")].value == pytest.approx(
        (80 * 100 + 60 * 30 + 90 * 10) / 140)
    assert stats[("511922", "ZB9003")].value == 3 + 1 + 2
    assert stats[(CITY, "ZB9002")].value == 30 + 20 + (4 + 6) + (15 + 2 + 4)
    assert stats[(CITY, "ZB9001")].reporting_regions == 4
    assert stats[(CITY, "ZB9004")].denominator == 100 + 300 + 50 + 50 + 140


def test_missing_county_is_counted_and_its_row_is_missing(city_stats):
    city = city_stats[(CITY, "ZB9001")]
    assert (city.reporting_regions, city.expected_regions) == (4, 5)
    missing = city_stats[("511923", "ZB9001")]
    assert missing.value is None and missing.status == "缺报" and missing.completion_rate is None


def test_ceiling_target_and_inverse_completion(city_stats):
    city = city_stats[(CITY, "ZB9003")]
    assert city.comparator == "<=" and city.value == 4 + 8 + (3 + 2) + 3
    assert city.status == "未达标" and city.completion_rate == pytest.approx(10 / 20)
    enyang = city_stats[("511903", "ZB9003")]
    assert enyang.status == "达标" and enyang.completion_rate == pytest.approx(10 / 8)


def test_weighted_mean_uses_the_weights(city_stats):
    city = city_stats[(CITY, "ZB9004")]
    expected = (92 * 100 + 88 * 300 + 95 * 50 + 85 * 50 + 80 * 100) / 600
    assert city.value == pytest.approx(expected)
    assert city.denominator == 600


def test_rerunning_the_rollup_gives_identical_rows(city_stats):
    ctx = pipeline.context()
    pipeline.run_rollup("test-city", 2023, ctx)
    assert _stats(ctx) == city_stats


def test_published_files_do_not_depend_on_the_process_that_publishes(city_ctx, tmp_path):
    """A worker that validated the files and one that only publishes (a fresh region tree,
    which meets the communities in the warehouse only) write the same statistics."""
    from planstats.regions import load_regions

    ctx = city_ctx
    fresh = pipeline.Context(ctx.settings, ctx.catalog,
                             load_regions(ctx.settings.include_dir / "regions"))
    assert "511921100001" not in fresh.regions
    ours = pipeline.publish_statistics("test-city", 2023, tmp_path / "ours", ctx)
    theirs = pipeline.publish_statistics("test-city", 2023, tmp_path / "theirs", fresh)
    for kind in ("csv", "json"):
        assert Path(ours[kind]).read_bytes() == Path(theirs[kind]).read_bytes(), kind
    codes = [line.split(",")[0] for line in
             Path(theirs["csv"]).read_text(encoding="utf-8-sig").splitlines()[1:]]
    order = list(dict.fromkeys(codes))
    # each community right after its county, not after every county
    assert order.index("511921100001") == order.index("511921") + 1
    assert order.index("511903001001") == order.index("511903") + 1


def test_the_statistics_table_holds_each_text_once_and_the_same_values(city_ctx):
    from planstats import rollup

    wh, plan = city_ctx.warehouse, city_ctx.catalog.plan("test-city")
    table = rollup.read_table(wh, plan, 2023, city_ctx.regions)
    plain = list(wh.tuples("report/agg_indicator_value", rollup.TABLE_FIELDS,
                           plan_code=plan.code, year=2023, basis="accepted"))
    assert sorted(table.rows, key=repr) == sorted(plain, key=repr)
    status = rollup.TABLE_FIELDS.index("status")
    texts = [row[status] for row in table.rows if row[status] == "未达标"]
    assert len(texts) > 1 and all(t is texts[0] for t in texts)
    again = [row[status] for row in plain if row[status] == "未达标"]
    assert again[0] is not again[1]  # the decoder was the connection's own again
