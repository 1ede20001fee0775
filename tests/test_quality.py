"""Peer-based data quality: planted outliers in a generated province year, hand-checked.

Every county of Sichuan reports 四川省's plan for 2021–2024 (plausible sample values, loaded
into the warehouse as accepted submissions). Three indicators get designed values instead, so
that medians and MADs can be worked out by hand: county number i (in code order, 0…182) reports
base + step × (i mod 7) every year. Residue 0 then has 27 counties and residues 1–6 have 26.
"""

from __future__ import annotations

import csv
import io
import json
import random
from contextlib import redirect_stdout

import pytest
from openpyxl import load_workbook

from planstats import cli, pipeline, quality
from planstats.samples import year_values

PLAN = "sichuan-14th"
YEAR = 2024
YEARS = (2021, 2022, 2023, 2024)
DESIGN = {"ZB2008": (300, 10), "ZB2001": (50, 1), "ZB2009": (80, 1)}  # code → (base, step)
TONGJIANG, DONGPO, PENGSHAN = "511921", "511402", "511403"  # indices 129, 90, 91
PLANTS = {
    # 通江县 (i = 129, residue 3, 330 m²) types 3300: a zero too many.
    ("ZB2008", TONGJIANG): 3300.0,
    # 东坡区 (i = 90, residue 6, 56 %) types the rate as a fraction.
    ("ZB2001", DONGPO): 0.56,
}
# 彭山区 (i = 91, residue 0) reported ZB2009 at 60, 61, 62 before jumping to its peers' 80.
HISTORY_PLANT = ("ZB2009", PENGSHAN, {2021: 60.0, 2022: 61.0, 2023: 62.0})


def province(ctx, plants: bool) -> dict[int, dict[str, dict[str, tuple]]]:
    """year → county → indicator → (value, 分子, 分母)."""
    counties = sorted(ctx.regions.counties_under("510000"))
    assert len(counties) == 183 and counties.index(TONGJIANG) == 129
    assert (counties.index(DONGPO), counties.index(PENGSHAN)) == (90, 91)
    data: dict[int, dict[str, dict[str, tuple]]] = {}
    for year in YEARS:
        data[year] = {}
        for i, county in enumerate(counties):
            values = {code: v for code, v in year_values(
                ctx, county, year, random.Random(f"quality-{county}-{year}")).items()
                if code in {ind.code for ind in ctx.catalog.plan(PLAN).indicators}}
            for code, (base, step) in DESIGN.items():
                values[code] = (float(base + step * (i % 7)), None, None)
            data[year][county] = values
    if plants:
        for (code, county), value in PLANTS.items():
            data[YEAR][county][code] = (value, None, None)
        code, county, past = HISTORY_PLANT
        for year, value in past.items():
            data[year][county][code] = (value, None, None)
    return data


def load(ctx, data: dict[int, dict[str, dict[str, tuple]]]) -> None:
    """Each county-year as one accepted, current submission (the loader's own statements)."""
    wh = ctx.warehouse
    with wh.engine.begin() as conn:
        for year, counties in data.items():
            for county, values in counties.items():
                sid = f"q{year}{county}"
                wh.run(conn, "load/submission", {
                    "submission_id": sid, "region_code": county, "year": year,
                    "file_name": f"{county}-{year}.xlsx", "file_hash": sid, "folder": county,
                    "received_at": f"{year + 1}-01-10T00:00:00+00:00",
                    "processed_at": f"{year + 1}-01-10T00:00:00+00:00",
                    "template_version": None, "status": "accepted", "is_current": 1,
                    "supersedes": None, "stored_path": None, "report_path": None,
                    "values_new": len(values), "values_updated": 0, "values_unchanged": 0,
                    "values_rejected": 0, "errors": 0, "warnings": 0})
                wh.run(conn, "load/fact_value", [
                    {"submission_id": sid, "region_code": county, "indicator_code": code,
                     "year": year, "value": v, "numerator": n, "denominator": d,
                     "note": None, "flag": None, "source_sheet": None, "value_cell": None,
                     "numerator_cell": None, "denominator_cell": None}
                    for code, (v, n, d) in values.items()])


def by_key(rows: list[quality.QualityRow]) -> dict[tuple[str, str, str], quality.QualityRow]:
    return {(r.indicator_code, r.region_code, r.method): r for r in rows}


def test_hand_computed_modified_z_scores():
    # 10 11 12 13 50: median 12; |deviations| 2 1 0 1 38 → MAD 1; M(50) = 0.6745 × 38 = 25.631
    group = quality.spread([10, 11, 12, 13, 50])
    assert (group.median, group.n) == (12, 5)
    assert group.score(50) == pytest.approx(25.631)
    assert group.score(10) == pytest.approx(-1.349)
    # 100 100 100 100 90: MAD 0, so the mean absolute deviation 10 / 5 = 2 stands in:
    # M(90) = (90 − 100) / (1.253314 × 2) = −3.9894
    group = quality.spread([100, 100, 100, 100, 90])
    assert group.score(90) == pytest.approx(-3.9894, abs=1e-4)
    assert quality.spread([7, 7, 7, 7, 7]) is None, "all equal: nothing stands out"


def test_a_tight_cluster_needs_a_material_difference():
    """Rates near 100 %: 91 among 99.6 99.7 99.8 100 (median 99.7, deviations 0 .1 .1 .3 8.7,
    MAD 0.1) has M = 0.6745 × (91 − 99.7) / 0.1 = −58.68, yet it is only 8.7 % below the median,
    under the 30 % change threshold; 60 is 40 % below."""
    def values(last: float) -> list[quality.Value]:
        rates = [99.6, 99.7, 99.8, 100.0, last]
        return [quality.Value(f"51190{i}", "511900", "ZB2001", YEAR, v, None)
                for i, v in enumerate(rates)]

    assert quality.spread([v.value for v in values(91.0)]).score(91.0) == pytest.approx(-58.6815)
    assert quality.peer_outliers(values(91.0), {"ZB2001": 0.30}) == []
    found = quality.peer_outliers(values(60.0), {"ZB2001": 0.30})
    # the five are all of the city and, here, all of the province
    assert {(f[0].value, f[1]) for f in found} == {(60.0, "city_peers"), (60.0, "province_peers")}


def test_planted_outliers_are_found_with_hand_checked_figures(ctx):
    load(ctx, province(ctx, plants=True))
    rows = pipeline.data_quality(YEAR, PLAN, ctx)
    found = by_key(rows)
    assert set(found) == {
        ("ZB2008", TONGJIANG, "province_peers"), ("ZB2008", TONGJIANG, "city_peers"),
        ("ZB2008", TONGJIANG, "history_range"),
        ("ZB2001", DONGPO, "province_peers"), ("ZB2001", DONGPO, "city_peers"),
        ("ZB2001", DONGPO, "history_range"),
        ("ZB2009", PENGSHAN, "history_range"),
    }, [r.reason for r in rows]

    # ZB2008 over the province: 300×27, 310…360×26 with one 330 replaced by 3300. The 92nd
    # of 183 is 330; deviations 0×25, 10×52, 20×52, 30×53, 2970×1 → MAD 20.
    # M = 0.6745 × (3300 − 330) / 20 = 100.163
    r = found[("ZB2008", TONGJIANG, "province_peers")]
    assert (r.value, r.peer_median, r.peers) == (3300, 330, 183)
    assert r.score == pytest.approx(100.163, abs=1e-3)
    assert "是中位数的 10.0 倍" in r.reason and "3.5" in r.reason
    # 巴中市: 巴州区 310, 恩阳区 320, 通江县 3300, 南江县 340, 平昌县 350 → median 340,
    # deviations 30 20 2960 0 10 → MAD 20; M = 0.6745 × 2960 / 20 = 99.826
    r = found[("ZB2008", TONGJIANG, "city_peers")]
    assert (r.peer_median, r.peers) == (340, 5)
    assert r.score == pytest.approx(99.826, abs=1e-3)
    # its own past: 330 330 330, sd floored at 330 × 30 % / 3 = 33: z = 2970 / 33 = 90,
    # range 330 ± 3 × 33 = 231～429
    r = found[("ZB2008", TONGJIANG, "history_range")]
    assert r.score == pytest.approx(90.0) and r.peer_median == 330 and r.peers == 3
    assert "231～429" in r.reason and "2021—2023年共3年" in r.reason

    # ZB2001 over the province: 50×27, 51…55×26, 56×25, 0.56; 92nd is 53; deviations
    # 0×26, 1×52, 2×52 … → MAD 2; M = 0.6745 × (0.56 − 53) / 2 = −17.685
    r = found[("ZB2001", DONGPO, "province_peers")]
    assert r.peer_median == 53 and r.score == pytest.approx(-17.685, abs=1e-3)
    assert "低于" in r.reason
    # 眉山市: 0.56 50 51 52 53 54 → median 51.5; deviations 50.94 1.5 .5 .5 1.5 2.5 → MAD 1.5;
    # M = 0.6745 × (0.56 − 51.5) / 1.5 = −22.906
    r = found[("ZB2001", DONGPO, "city_peers")]
    assert (r.peer_median, r.peers) == (51.5, 6)
    assert r.score == pytest.approx(-22.906, abs=1e-3)
    # own past 56 56 56: sd floored at 5.6; z = (0.56 − 56) / 5.6 = −9.9
    assert found[("ZB2001", DONGPO, "history_range")].score == pytest.approx(-9.9)

    # ZB2009: 彭山区 at 80 is its peers' minimum (province median 83, MAD 2: M = −1.01), but
    # 60 61 62 before: mean 61, sd 1 floored at 61 × 30 % / 3 = 6.1; z = 19 / 6.1 = 3.115
    r = found[("ZB2009", PENGSHAN, "history_range")]
    assert r.value == 80 and r.score == pytest.approx(3.1148, abs=1e-4)

    assert [abs(r.score) for r in rows] == sorted((abs(r.score) for r in rows), reverse=True)
    assert rows[0].region_code == TONGJIANG and rows[0].method == "province_peers"

    # Stricter on group size: 巴中市's five counties are no longer judged as a group.
    fewer = by_key(pipeline.data_quality(YEAR, PLAN, ctx, min_peers=6))
    assert ("ZB2008", TONGJIANG, "city_peers") not in fewer
    assert ("ZB2001", DONGPO, "city_peers") in fewer  # 眉山市 has six


def test_clean_province_year_has_nothing_to_report(ctx):
    load(ctx, province(ctx, plants=False))
    assert pipeline.data_quality(YEAR, PLAN, ctx) == []
    assert pipeline.data_quality(YEAR, ctx=ctx) == []


def test_quality_command_and_statistics_sheet(ctx, tmp_path):
    load(ctx, province(ctx, plants=True))
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["quality", "--year", str(YEAR), "--plan", PLAN, "--json"]) == 0
    rows = json.loads(out.getvalue())
    assert len(rows) == 7 and set(rows[0]) >= {
        "region_code", "indicator_code", "plan_code", "year", "value", "method", "score",
        "peer_median", "reason"}
    assert (rows[0]["region_code"], rows[0]["plan_code"], rows[0]["year"]) == (
        TONGJIANG, PLAN, YEAR)

    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["quality", "--year", str(YEAR), "--csv"]) == 0
    table = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert table[0][:3] == ["序号", "行政区划代码", "地区"] and len(table) == 8
    assert table[1][2] == "通江县" and table[1][3] == "巴中市"
    unit = table[0].index("单位")
    assert table[0][unit - 1] == "本年值" and {line[unit] for line in table[1:]} == {
        r["unit"] for r in rows}

    pipeline.run_rollup(PLAN, YEAR, ctx)
    paths = pipeline.publish_statistics(PLAN, YEAR, tmp_path / "pub", ctx)
    ws = load_workbook(paths["xlsx"])["数据质量"]
    assert "共 7 条" in ws["A2"].value
    assert [c.value for c in ws[5]][:7] == [1, TONGJIANG, "通江县", "巴中市", "ZB2008",
                                            "社区服务中心最低面积", 3300]  # the plan's name


def test_rows_are_in_the_unit_of_their_plan(ctx):
    """眉山市 states ZB0015 in % (factor 0.01 of the stored 每万人): 东坡区's 5000 per 10,000
    among 1000…1400 is listed as 50 % against a median of 12.5 %, the reason quoting 12.5."""
    counties = sorted(ctx.regions.counties_under("511400"))
    assert len(counties) == 6 and counties[0] == DONGPO
    stored = dict(zip(counties, (5000.0, 1000.0, 1100.0, 1200.0, 1300.0, 1400.0), strict=True))
    load(ctx, {YEAR: {county: {"ZB0015": (v, None, None), "ZB2001": (v / 100, None, None)}
                      for county, v in stored.items()}})
    rows = pipeline.data_quality(YEAR, ctx=ctx)
    volunteers = [r for r in rows if r.indicator_code == "ZB0015"]
    # median 1250; deviations 3750 250 150 50 50 150 → MAD 150; M = 0.6745 × 3750 / 150
    assert {r.method for r in volunteers} == {"city_peers", "province_peers"}
    for r in volunteers:
        assert (r.region_code, r.plan_code, r.unit) == (DONGPO, "meishan-14th", "%")
        assert (r.value, r.peer_median) == (pytest.approx(50.0), pytest.approx(12.5))
        assert r.score == pytest.approx(16.8625) and "中位数 12.5，" in r.reason
        assert r.to_dict()["unit"] == "%"
    # an indicator its plan states in the concept's unit keeps its numbers, its unit named
    urban = [r for r in rows if r.indicator_code == "ZB2001"]
    assert urban and {(r.plan_code, r.unit, r.value, r.peer_median) for r in urban} == {
        ("sichuan-14th", "%", 50.0, 12.5)}
