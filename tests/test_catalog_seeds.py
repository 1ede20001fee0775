"""Plans as printed: the two seed tables parsed on their own, compared with the catalog row by row.

恩阳区's 专栏1 is tab-separated (类别, 序号, 指标, 单位, 目标值, 指标属性). 眉山市's 专栏1
is one cell a line, each ending in " |", traditional script with pinyin glued after characters;
its unit is the bracket closing the indicator's name. Nothing here reads ``source_text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from planstats.catalog import load_catalog, parse_target
from planstats.chinese import to_simplified

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
ATTRIBUTES = {"约束性", "预期性"}

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents not beside the project")


@dataclass(frozen=True)
class PrintedRow:
    seq: int
    name: str
    unit: str | None
    target: str
    attribute: str


def enyang_table() -> list[PrintedRow]:
    text = (SEEDS / "000_2800cef2089c368a.txt").read_text(encoding="utf-8")
    lines = text[text.index("专栏 1："):].splitlines()
    header = lines.index("类别\t序号\t指标\t单位\t目标值\t指标属性")
    rows = []
    for line in lines[header + 1:]:
        cells = line.split("\t")
        if not line.strip():  # a blank line parts the categories
            continue
        if len(cells) != 6 or not cells[1].strip().isdigit():
            break
        _, seq, name, unit, target, attribute = (c.strip() for c in cells)
        rows.append(PrintedRow(int(seq), name, unit, target, attribute))
    return rows


def meishan_table() -> list[PrintedRow]:
    text = (SEEDS / "001_66f792fe0a480d57.txt").read_text(encoding="utf-8")
    cells = [PINYIN.sub("", line.rstrip().removesuffix("|").strip())
             for line in text.splitlines() if line.rstrip().endswith("|")]
    cells = [c for c in cells if c]
    start = cells.index("屬性") + 1  # header: 序號 | 類別 | 指標 | 目標值 | 屬性
    rows, pending = [], []
    for cell in cells[start:]:
        if to_simplified(cell) in ATTRIBUTES:  # a row ends with its attribute
            *_, name, target = pending
            unit = re.search(r"\(([^()]*)\)$", name)
            rows.append(PrintedRow(len(rows) + 1, name[:unit.start()] if unit else name,
                                   unit.group(1) if unit else None, target,
                                   to_simplified(cell)))
            pending = []
        else:
            pending.append(cell)
    return rows


def test_the_seed_parsers_read_whole_tables() -> None:
    assert [r.seq for r in enyang_table()] == list(range(1, 38))
    meishan = meishan_table()
    assert len(meishan) == 66
    assert (meishan[54].name, meishan[54].unit, meishan[54].target) == ("全市志愿者注冊率", "%",
                                                                          "≥20")


@pytest.mark.parametrize(("plan_code", "table"), [("enyang-14th", enyang_table),
                                                  ("meishan-14th", meishan_table)])
def test_every_row_keeps_the_plans_unit_target_and_attribute(plan_code, table) -> None:
    plan = load_catalog(ROOT / "include" / "catalog").plan(plan_code)
    by_seq = {i.seq: i for i in plan.indicators}
    printed = table()
    assert sorted(by_seq) == [r.seq for r in printed]
    wrong = []
    for row in printed:
        ind = by_seq[row.seq]
        comparator, target = parse_target(row.target, ind.concept.direction)
        unit = to_simplified(row.unit) if row.unit else ind.concept.unit
        actual = (to_simplified(ind.name), ind.unit, ind.target_text, ind.comparator, ind.target,
                  ind.attribute)
        expected = (to_simplified(row.name), unit, row.target, comparator, target, row.attribute)
        if actual != expected:
            wrong.append((row.seq, ind.code, actual, expected))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_plan_unit_other_than_the_concepts_declares_its_conversion() -> None:
    catalog = load_catalog(ROOT / "include" / "catalog")
    meishan = catalog.plan("meishan-14th")
    volunteers = meishan.indicator("ZB0015")  # printed 全市志愿者注册率 (%) ≥20
    assert (volunteers.unit, volunteers.target_text, volunteers.target) == ("%", "≥20", 20)
    assert volunteers.concept.unit == "人" and volunteers.concept.scale == 10000
    assert volunteers.factor == pytest.approx(0.01)  # 2,000 per 10,000 is 20 %
    talent = meishan.indicator("ZB0022")  # 全市专业社工人才 (人) 6000, concept in 万人
    assert (talent.unit, talent.target, talent.factor) == ("人", 6000, 10000)
    care = meishan.indicator("ZB2010")  # 街道社区养老服务综合体 (个) ≥1, concept a coverage %
    assert (care.unit, care.target_text, care.comparator, care.target) == ("个", "≥1", ">=", 1)
    assert care.factor is None and care.assess == (">=", 100) and "每个街道" in care.note
    assert (care.stat_unit, care.stat_comparator, care.stat_target) == ("%", ">=", 100)
    renshou = catalog.plan("renshou-2018").indicator("ZB0015")
    assert (renshou.unit, renshou.target_text, renshou.target, renshou.factor) == (
        "%", "13%以上", 13, pytest.approx(0.01))
