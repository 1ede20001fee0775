"""All five seed plans: counts, shared concepts, and samples checked field by field against
the seed text (../shared/seeds)."""

import re
from pathlib import Path

import pytest

from planstats.catalog import load_catalog
from planstats.catalog_view import catalog_markdown

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "include" / "catalog")


def squash(text: str) -> str:
    """Seed text without whitespace and the pinyin glued into 眉山's (e.g. 規(guī)劃)."""
    return re.sub(r"\([a-zà-ÿ\u0100-\u01dc]+\)|\s", "", text)


@pytest.mark.parametrize(("plan", "region", "count", "period"), [
    ("enyang-14th", "511903", 37, (2021, 2025)),
    ("meishan-14th", "511400", 66, (2021, 2025)),
    ("sichuan-14th", "510000", 27, (2021, 2025)),
    ("chengdu-14th", "510100", 36, (2021, 2025)),
    ("renshou-2018", "511421", 10, (2018, 2020)),
])
def test_every_plan_with_its_owner_period_and_indicator_count(catalog, plan, region, count,
                                                              period):
    p = catalog.plan(plan)
    assert p.region_code == region
    assert (p.period_start, p.period_end) == period
    assert len(p.indicators) == count >= 8
    assert [i.seq for i in p.indicators] == list(range(1, count + 1))


def test_every_source_text_is_in_its_seed(catalog):
    if not SEEDS.is_dir():
        pytest.skip("seed documents not beside the project")
    for plan in catalog.plans.values():
        seed = squash((SEEDS / plan.source).read_text(encoding="utf-8"))
        for ind in plan.indicators:  # a table row's cells may be split over several lines
            for cell in ind.source_text.split("\t"):
                assert squash(cell) in seed, (plan.code, ind.code, cell)


@pytest.mark.parametrize(("plan", "code", "fields"), [
    ("sichuan-14th", "ZB2001", {"name": "城镇化率", "target": 60, "comparator": ">=",
                                "baseline": 56.73, "baseline_year": 2020, "unit": "%",
                                "aggregation": "ratio"}),
    ("chengdu-14th", "ZB0001", {"comparator": ">=", "target": 100, "aggregation": "ratio"}),
    ("renshou-2018", "ZB0015", {"target": 13, "unit": "%", "target_year": 2020,
                                "attribute": "预期性"}),
    ("renshou-2018", "ZB2066", {"target": 30, "unit": "平方米", "attribute": "约束性"}),
    ("meishan-14th", "ZB0020", {"name": "城鄉社區綜合服務設施覆蓋率", "target": 100,
                                "attribute": "预期性", "category": "宜居社區"}),
    ("enyang-14th", "ZB0021", {"target": 60, "comparator": ">=", "unit": "平方米",
                               "attribute": "约束性"}),
])
def test_sample_indicators_field_by_field(catalog, plan, code, fields):
    ind = catalog.plan(plan).indicator(code)
    actual = {"name": ind.name, "target": ind.target, "comparator": ind.comparator,
              "baseline": ind.baseline, "baseline_year": ind.baseline_year,
              "unit": ind.unit, "aggregation": ind.concept.aggregation,
              "attribute": ind.attribute, "target_year": ind.target_year,
              "category": ind.category}
    assert {k: actual[k] for k in fields} == fields


def test_shared_concepts_are_one_code_with_each_plan_keeping_its_target(catalog):
    owners = {}
    for plan in catalog.plans.values():
        for ind in plan.indicators:
            owners.setdefault(ind.code, {})[plan.code] = ind.target_text
    coverage = owners["ZB0020"]  # 城乡社区综合服务设施覆盖率
    assert {"enyang-14th", "meishan-14th", "sichuan-14th"} <= set(coverage)
    assert set(owners["ZB0001"]) >= {"enyang-14th", "meishan-14th", "chengdu-14th"}
    assert sum(len(plans) > 1 for plans in owners.values()) >= 10


def test_prose_targets_say_which_attributes_were_inferred_and_why(catalog):
    for code in ("sichuan-14th", "chengdu-14th", "renshou-2018"):
        inferred = [i for i in catalog.plan(code).indicators if i.attribute_inferred]
        assert inferred, code
        assert all(i.note for i in inferred), code


def test_rates_declare_what_numerator_and_denominator_count(catalog):
    for concept in catalog.concepts.values():
        if concept.aggregation == "ratio":
            assert concept.numerator and concept.denominator and concept.scale, concept.code


def test_catalog_page_is_in_sync(catalog):
    page = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert page == catalog_markdown(catalog) + "\n", "run: planstats catalog --markdown"


def test_next_periods_plan_is_added_by_adding_a_file(tmp_path):
    """十五五 (2026–2030): a new plan file and nothing else; each year finds its own plan."""
    import shutil

    from planstats.expectations import all_suites
    from planstats.regions import load_regions

    catalog_dir = tmp_path / "catalog"
    shutil.copytree(ROOT / "include" / "catalog", catalog_dir)
    text = (catalog_dir / "plans" / "enyang-14th.yaml").read_text(encoding="utf-8")
    text = (text.replace("code: enyang-14th", "code: enyang-15th")
                .replace("period_start: 2021", "period_start: 2026")
                .replace("period_end: 2025", "period_end: 2030")
                .replace("baseline_year: 2020", "baseline_year: 2025")
                .replace("target_year: 2025", "target_year: 2030"))
    (catalog_dir / "plans" / "enyang-15th.yaml").write_text(text, encoding="utf-8")
    catalog = load_catalog(catalog_dir)
    chain = load_regions(ROOT / "include" / "regions").ancestors("511903")
    assert [p.code for p in catalog.plans_for(chain, 2027)] == ["enyang-15th"]
    assert "enyang-14th" in [p.code for p in catalog.plans_for(chain, 2025)]
    rules = all_suites(catalog)["values"]["meta"]["rules"]  # the new plan's rules checked
    assert {r.split("/")[0] for r in rules} >= {"enyang-14th", "enyang-15th"}
