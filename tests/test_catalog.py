import json
import shutil
from pathlib import Path

import pytest

from planstats.catalog import CatalogError, load_catalog, parse_target
from planstats.expectations import all_suites, suite_json

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "include" / "catalog"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG)


def test_enyang_has_all_37_indicators_of_its_table(catalog) -> None:
    plan = catalog.plan("enyang-14th")
    assert plan.region_code == "511903"
    assert (plan.period_start, plan.period_end, plan.baseline_year) == (2021, 2025, 2020)
    assert [i.seq for i in plan.indicators] == list(range(1, 38))
    assert sum(i.attribute == "约束性" for i in plan.indicators) == 26


def test_enyang_indicators_match_the_seed_text(catalog) -> None:
    plan = catalog.plan("enyang-14th")
    seed = (ROOT.parent / "shared" / "seeds" / "000_2800cef2089c368a.txt")
    volunteers = plan.indicator("ZB0015")
    assert volunteers.name == "每万人中注册志愿者数量"
    assert (volunteers.comparator, volunteers.target, volunteers.concept.unit) == (">=", 2500, "人")
    assert volunteers.attribute == "约束性" and volunteers.category == "五治融合"
    assert volunteers.concept.aggregation == "ratio" and volunteers.concept.scale == 10000
    satisfaction = plan.indicator("ZB0016")
    assert (satisfaction.target_text, satisfaction.comparator, satisfaction.target) == (
        "90以上", ">=", 90)
    talent = plan.indicator("ZB0022")
    assert (talent.concept.unit, talent.target, talent.attribute) == ("万人", 0.1, "预期性")
    assert plan.indicator("ZB0034").target_text == "≥95"
    if seed.exists():
        text = seed.read_text(encoding="utf-8")
        for ind in plan.indicators:
            assert ind.source_text.split("\t")[-4] in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("≥95", (">=", 95)), ("100", (">=", 100)), ("90以上", (">=", 90)), ("不低于95%", (">=", 95)),
     ("≤10", ("<=", 10)), ("不超过10", ("<=", 10)), ("≥100", (">=", 100)), ("0.1", (">=", 0.1)),
     ("10以内", ("<=", 10))],
)
def test_parse_target(text: str, expected: tuple[str, float]) -> None:
    assert parse_target(text) == expected


def test_bare_target_of_a_lower_is_better_concept_is_a_ceiling() -> None:
    assert parse_target("5", direction="lower") == ("<=", 5)


def _broken_copy(tmp_path: Path, path: str, old: str, new: str) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG, target)
    file = target / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        ("concepts/enyang.yaml", "aggregation: ratio", "aggregation: average",
         "enyang.yaml, concept ZB0001: field 'aggregation'"),
        ("plans/enyang-14th.yaml", "target: ≥95", "target: 很高",
         "enyang-14th.yaml, plan enyang-14th, indicator ZB0002: field 'target'"),
        ("plans/enyang-14th.yaml", "- code: ZB0002", "- code: ZB0001",
         "indicator ZB0001: duplicate code"),
        ("concepts/enyang.yaml", "  numerator: 已建立党组织（含联合党组织）的小区（院落）数\n", "",
         "concept ZB0001: field 'numerator' is missing"),
        ("plans/enyang-14th.yaml", "attribute: 约束性", "attribute: 必须",
         "indicator ZB0001: field 'attribute'"),
        # the typed schema: typos, wrong types, impossible periods and deadlines
        ("concepts/enyang.yaml", "  valid_range: [0, 100]", "  valid_rang: [0, 100]",
         "enyang.yaml, concept ZB0001: field 'valid_rang' is not a known field"),
        ("plans/enyang-14th.yaml", "  seq: 3\n", "  seq: '3'\n",
         "enyang-14th.yaml, plan enyang-14th, indicator ZB0003: field 'seq'"),
        ("plans/enyang-14th.yaml", "  target_year: 2025\n  source_text: \"3\\t",
         "  target_year: 2025\n  baseline: 80\n  source_text: \"3\\t",
         "indicator ZB0003: field 'baseline_year' is missing"),
        ("plans/enyang-14th.yaml", "  period_start: 2021", "  period_start: 2027",
         "enyang-14th.yaml, plan enyang-14th: field 'period_end' 2025 is before period_start"),
        ("plans/enyang-14th.yaml", "  deadline: 01-31", "  deadline: 02-30",
         "enyang-14th.yaml, plan enyang-14th: field 'deadline' '02-30' is not a month-day"),
        ("plans/enyang-14th.yaml", "  deadline: 01-31", "  deadline: 2026-01-31",
         "plan enyang-14th: field 'deadline'"),
        ("plans/enyang-14th.yaml", "  target_year: 2025\n  source_text: \"3\\t",
         "  target_year: 2019\n  source_text: \"3\\t",
         "indicator ZB0003: field 'target_year' 2019 does not fit the plan's period 2021–2025"),
        ("plans/enyang-14th.yaml", "  category: 党建引领\n  name: 软弱",
         "  category: 党建引领\n  tagret: '100'\n  name: 软弱",
         "indicator ZB0003: field 'tagret' is not a known field"),
        ("plans/enyang-14th.yaml", "  name: 软弱涣散党组织整治率\n",
         "  name: 软弱涣散党组织整治率\n  unit: 个\n",
         "indicator ZB0003: field 'conversion' is missing: the plan states '个', the concept"),
        ("plans/meishan-14th.yaml", "    factor: 0.01\n", "    factor: -1\n",
         "meishan-14th.yaml, plan meishan-14th, indicator ZB0015: field 'conversion.factor'"),
        ("plans/meishan-14th.yaml", "    assess_as: '100'\n",
         "    assess_as: '100'\n    factor: 2\n",
         "indicator ZB2010: field 'conversion.factor' give either factor or assess_as"),
    ],
)
def test_malformed_catalog_is_refused_naming_file_plan_and_field(
        tmp_path: Path, path: str, old: str, new: str, expected: str) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(_broken_copy(tmp_path, path, old, new))
    assert expected in str(err.value)


def test_committed_suites_are_in_sync_with_the_catalog(catalog) -> None:
    directory = ROOT / "include" / "expectations"
    suites = all_suites(catalog)
    assert sorted(p.stem for p in directory.glob("*.json")) == sorted(suites)
    for name, suite in suites.items():
        committed = (directory / f"{name}.json").read_text(encoding="utf-8")
        assert committed == suite_json(suite), f"{name}.json is stale: run `planstats expectations`"


def test_every_indicator_carries_its_rule_parameters_into_the_wide_suite(catalog) -> None:
    """The suite is a few wide rules; each indicator's bounds are data in the suite file."""
    suite = json.loads((ROOT / "include/expectations/values.json").read_text("utf-8"))
    assert len(suite["expectations"]) <= 5, "the checks compiled into a few long-table rules"
    assert not any("row_condition" in e["kwargs"] for e in suite["expectations"])
    held = [c for e in suite["expectations"] for c in e["meta"]["held"]]
    assert sorted(held) == sorted(suite["meta"]["checks"]), "every check in one expectation"
    params = suite["meta"]["parameters"]
    assert set(params) == set(catalog.concepts)
    for ind in catalog.plan("enyang-14th").indicators:
        concept = ind.concept
        assert params[concept.code].get("value_min") == concept.valid_min
        assert params[concept.code].get("value_max") == concept.valid_max
        assert ("ratio_tolerance" in params[concept.code]) == (concept.aggregation == "ratio")
    rules = {r for e in suite["expectations"] for r in e["meta"]["rule"].split("+")}
    assert {"value_range", "integer", "ratio_parts", "ratio_consistency", "missing_value",
            "yoy_change", "history_outlier", "unknown_indicator"} <= rules


def test_traditional_names_match_their_concept(catalog) -> None:
    assert catalog.concept_by_name("小區黨組織覆蓋率").code == "ZB0001"
    assert catalog.concept_by_name("城鄉社區綜合服務設施覆蓋率").code == "ZB0020"
