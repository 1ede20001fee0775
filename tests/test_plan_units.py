"""Plans as printed, end to end: a 眉山 county is asked in 眉山's units, its values are stored in
the concept's unit, and each plan's statistics convert back explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from planstats import pipeline
from planstats.templates import DATA_HEADERS, HEADER_ROW

DONGPO = "511402"  # 东坡区, under 眉山市: asked by the 四川省 and 眉山市 plans
YEAR = 2024


def _template_rows(path: Path) -> dict[str, dict[str, object]]:
    ws = load_workbook(path)["指标数据"]
    rows = {}
    for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
        rows[row[0]] = dict(zip(DATA_HEADERS, row, strict=False))
    return rows


def test_the_template_asks_in_the_plans_unit(ctx, tmp_path) -> None:
    rows = _template_rows(pipeline.make_template(DONGPO, YEAR, tmp_path / "t.xlsx", ctx))
    assert (rows["ZB0015"]["单位"], rows["ZB0015"]["目标值"]) == ("%", "≥20")
    assert (rows["ZB0022"]["单位"], rows["ZB0022"]["目标值"]) == ("人", "6000")
    # two plans, one figure: 四川省's coverage rate, which 眉山市's “≥1个” per street reads
    care = rows["ZB2010"]
    assert care["单位"] == "%"
    assert "眉山市“十四五”≥1个（即街道社区养老服务综合体覆盖率≥100%）" in care["目标值"]
    assert "四川省“十四五”100" in care["目标值"]
    enyang = _template_rows(pipeline.make_template("511903", YEAR, tmp_path / "e.xlsx", ctx))
    assert (enyang["ZB0015"]["单位"], enyang["ZB0015"]["目标值"]) == ("人", "≥2500")
    assert (enyang["ZB0022"]["单位"], enyang["ZB0022"]["目标值"]) == ("万人", "0.1")


@pytest.fixture
def meishan_year(ctx, make_workbook):
    overrides = {
        "ZB0015": (21.5, 64_500.0, 300_000.0),  # 21.5 % of residents registered
        "ZB0022": (480.0, None, None),  # 480 people
        "ZB2010": (87.5, 7.0, 8.0),  # 7 of 8 streets have a complex
    }
    make_workbook(ctx.settings.inbox / DONGPO / "东坡区.xlsx", DONGPO, YEAR, overrides)
    outcome = pipeline.ingest(ctx=ctx)
    assert [o["status"] for o in outcome] != ["rejected"], outcome
    for plan in ("meishan-14th", "sichuan-14th"):
        pipeline.run_rollup(plan, YEAR, ctx)
    return ctx


def test_values_are_stored_in_the_concepts_unit(meishan_year) -> None:
    from sqlalchemy import text

    with meishan_year.warehouse.engine.connect() as conn:
        stored = {code: value for code, value in conn.execute(text(
            "select indicator_code, value from fact_value where region_code = :r and year = :y "
            "and indicator_code in ('ZB0015', 'ZB0022', 'ZB2010')"), {"r": DONGPO, "y": YEAR})}
    assert stored["ZB0015"] == pytest.approx(2150)  # per 10,000 residents
    assert stored["ZB0022"] == pytest.approx(0.048)  # 万人
    assert stored["ZB2010"] == pytest.approx(87.5)


def test_each_plans_statistics_in_its_own_unit(meishan_year) -> None:
    def row(plan: str, region: str, code: str):
        return next(r for r in pipeline.statistics(plan, YEAR, meishan_year)
                    if r.region_code == region and r.indicator_code == code).to_dict()

    volunteers = row("meishan-14th", DONGPO, "ZB0015")
    assert (volunteers["value"], volunteers["unit"]) == (pytest.approx(21.5), "%")
    assert (volunteers["comparator"], volunteers["target"], volunteers["status"]) == (
        ">=", 20, "达标")
    assert volunteers["completion_rate"] == pytest.approx(21.5 / 20)
    city = row("meishan-14th", "511400", "ZB0015")  # Σ分子 / Σ分母 × 100, in %
    assert city["value"] == pytest.approx(21.5) and city["numerator"] == 64_500
    talent = row("meishan-14th", DONGPO, "ZB0022")
    assert (talent["value"], talent["unit"], talent["target"], talent["status"]) == (
        pytest.approx(480), "人", 6000, "未达标")
    care = row("meishan-14th", DONGPO, "ZB2010")  # “≥1个” per street, read as coverage 100 %
    assert (care["value"], care["unit"], care["target"], care["status"]) == (
        pytest.approx(87.5), "%", 100, "未达标")
    province = row("sichuan-14th", DONGPO, "ZB2010")
    assert (province["value"], province["unit"], province["target"]) == (
        pytest.approx(87.5), "%", 100)


def test_the_meishan_workbook_prints_the_plans_own_rows(meishan_year) -> None:
    paths = pipeline.publish_statistics("meishan-14th", YEAR, ctx=meishan_year)
    ws = load_workbook(paths["xlsx"]).worksheets[0]
    lines = {r[2]: r for r in ws.iter_rows(min_row=5, values_only=True) if r[2]}
    volunteers = lines["全市志愿者注冊率"]
    assert volunteers[3:6] == ("%", "≥20", "预期性")
    assert lines["全市專業社工人才"][3:5] == ("人", "6000")
    care = lines["街道社區養老服務綜合體"]
    assert care[3] == "个（年度值%）" and care[4].startswith("≥1（即")


def test_a_county_reads_its_problems_in_the_unit_it_typed(ctx, make_workbook, tmp_path,
                                                          capsys) -> None:
    """东坡区 types 志愿者注册率 in % (眉山's unit, factor 0.01 of the concept's 每万人): the
    range, the typed number and the rate's scale are quoted in %, not per 10,000."""
    import json

    from planstats import cli

    path = make_workbook(tmp_path / "东坡区.xlsx", DONGPO, YEAR,
                         {"ZB0015": (150.0, 60_000.0, 300_000.0)})  # 150 %, parts say 20 %
    assert cli.main(["validate", str(path), "--json"]) == 1
    issues = [i for i in json.loads(capsys.readouterr().out)["issues"]
              if i["indicator_code"] == "ZB0015"]
    by_rule = {i["rule"]: i for i in issues}
    assert set(by_rule) == {"value_range", "ratio_consistency"}, issues
    in_range = by_rule["value_range"]
    assert in_range["value"] == 150 and in_range["column"] == "E"
    assert "本年值为150，应在0～100之间（单位：%）" in in_range["message"], in_range
    assert "10000" not in in_range["message"] and "15000" not in in_range["message"]
    assert "分子÷分母×100）" in by_rule["ratio_consistency"]["message"]


def test_a_rate_rounded_in_the_typed_unit_is_consistent(ctx, make_workbook, tmp_path,
                                                        capsys) -> None:
    """64,537 of 300,000 residents is 21.512 %: typed as 21.5 it is off by 0.012 % (1.2 per
    10,000, over the 0.51 allowed in the concept's unit) and must still agree with its parts,
    as a rate typed to the unit of % does for any other county."""
    import json

    from planstats import cli

    path = make_workbook(tmp_path / "东坡区.xlsx", DONGPO, YEAR,
                         {"ZB0015": (21.5, 64_537.0, 300_000.0)})
    cli.main(["validate", str(path), "--json"])
    issues = [i for i in json.loads(capsys.readouterr().out)["issues"]
              if i["indicator_code"] == "ZB0015"]
    assert issues == []
    path = make_workbook(tmp_path / "东坡区2.xlsx", DONGPO, YEAR,
                         {"ZB0015": (22.5, 64_537.0, 300_000.0)})  # a whole % off
    cli.main(["validate", str(path), "--json"])
    assert [i["rule"] for i in json.loads(capsys.readouterr().out)["issues"]
            if i["indicator_code"] == "ZB0015"] == ["ratio_consistency"]
