from pathlib import Path

from planstats.regions import load_regions

ROOT = Path(__file__).resolve().parent.parent


def test_sichuan_tree_has_21_cities_and_183_counties() -> None:
    tree = load_regions(ROOT / "include" / "regions")
    assert tree["510000"].name == "四川省"
    cities = [c for c in tree.children["510000"]]
    assert len(cities) == 21
    assert len(tree.counties_under("510000")) == 183
    assert tree.ancestors("511421") == ["511421", "511400", "510000"]
    assert tree.name("511903") == "恩阳区"
    assert tree.is_within("510185", "510100")


def test_units_below_a_county_join_the_tree_by_code() -> None:
    tree = load_regions(ROOT / "include" / "regions")
    unit = tree.with_unit("511903001001", "某社区")
    assert unit is not None and unit.parent == "511903" and unit.level == "community"
    assert tree.with_unit("999999001001") is None
    assert tree.is_within("511903001001", "511900")
