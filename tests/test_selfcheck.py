"""The workbook checks itself: 自查 formulas computed by LibreOffice agree with the server.

Workbooks are filled with planted mistakes, opened in LibreOffice (which computes the formulas
on load, as it does when a county opens the file) and saved; the 自查 texts and counts read back
must be exactly the server's issues for the same file, row by row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from planstats import pipeline, selfcheck, templates
from planstats.catalog import required_indicators
from planstats.validate import HistoryStats
from tests.office import convert, office_profile  # noqa: F401  (fixture)

ENYANG = "511903"
JINJIANG = "510104"  # 成都市's plan and its warning rule R03 apply here
YEAR = 2024
# 2021–2023 are loaded first: ZB0022's history .10 .10 .13 gives the range .058～.162.
HISTORY = {2021: 0.10, 2022: 0.10, 2023: 0.13}
PLANTED = {
    "ZB0001": (120, 12, 10),      # over 100 %, and 分子 > 分母
    "ZB0002": (80, 30, 40),       # 30 ÷ 40 × 100 = 75, not 80
    "ZB0003": ("same", 0, 0),     # replaced below: last year's rate, but 分母 must be > 0
    "ZB0005": ("九十", 9, 10),     # text where a number belongs
    "ZB0016": (85, None, None),   # a satisfaction rate without its weight
    "ZB0017": (3.5, None, None),  # a count that is not whole (its jump on last year is not told)
    "ZB0020": (90, None, 40),     # a rate without 分子
    "ZB0022": (0.165, None, None),  # +26.9 % on last year, but outside the county's own range
    "ZB0025": ("x10", None, None),  # replaced below: ten times last year, explained in 说明
    "ZB0031": ("x3", None, None),  # replaced below: three times last year, not explained
    "ZB0033": (90, 90, 100),      # 应答率 90 …
    "ZB0034": (96, 96, 100),      # … below 完成率 96: R01 on the 完成率 row
    "ZB0036": (None, None, None),  # not reported, nothing said
    "ZB0037": (None, None, None),  # not reported, the reason given
}
NOTES = {"ZB0025": "新建孵化基地集中投用", "ZB0037": "本年度未开展统计"}
HEADER = templates.HEADER_ROW


def cell_rows(path: Path) -> dict[int, dict[str, object]]:
    """Each data row of 指标数据 by Excel row number, cells by header name (values as cached)."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("指标数据").to_python(
        skip_empty_area=False)
    names = [str(c) for c in rows[HEADER - 1]]
    return {i: dict(zip(names, row, strict=False)) for i, row in enumerate(rows, start=1)
            if i > HEADER and row and row[0]}


def summary(path: Path) -> str:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("指标数据").to_python()
    return str(rows[1][4])


@pytest.fixture
def history(ctx, make_workbook) -> dict[str, dict[int, float]]:
    """Three accepted years of 恩阳区 in the warehouse: last year's value and the history range."""
    folder = ctx.settings.inbox / ENYANG
    for year, value in HISTORY.items():
        make_workbook(folder / f"{year}.xlsx", year=year,
                      overrides={"ZB0022": (value, None, None)})
    outcomes = pipeline.ingest(ctx=ctx)
    assert [o["status"] for o in outcomes] == ["accepted"] * 3, outcomes
    rows = ctx.warehouse.rows("report/current_values", region_code=ENYANG, year=YEAR - 1)
    return {r["indicator_code"]: {YEAR - 1: r["value"]} for r in rows}


def planted(last: dict[str, dict[int, float]]) -> dict[str, tuple]:
    out = dict(PLANTED)
    out["ZB0003"] = (last["ZB0003"][YEAR - 1], 0, 0)
    out["ZB0025"] = (round(last["ZB0025"][YEAR - 1] * 10), None, None)
    out["ZB0031"] = (round(last["ZB0031"][YEAR - 1] * 3) or 3, None, None)
    return out


def server_issues(ctx, path: Path) -> tuple[dict, dict[int, set[str]]]:
    result = pipeline.validate_file(path, ctx)
    by_row: dict[int, set[str]] = {}
    for issue in result["issues"]:
        assert issue["row"], f"an issue the workbook cannot show: {issue}"
        by_row.setdefault(issue["row"], set()).add(issue["message"])
    return result, by_row


def assert_agrees(ctx, filled: Path, computed: Path) -> dict:
    """The 自查 texts of ``computed`` (LibreOffice's) are the server's issues for ``filled``."""
    result, expected = server_issues(ctx, filled)
    rows = cell_rows(computed)
    for number, cells in rows.items():
        text = str(cells[templates.SELF_CHECK])
        shown = set() if text == templates.PASS else set(text.split("\n"))
        assert shown == expected.get(number, set()), (number, cells["指标代码"])
    assert set(expected) <= set(rows)
    errors = sum(i["severity"] == "error" for i in result["issues"])
    noted = {n for n, cells in rows.items() if str(cells["说明"] or "").strip()}
    open_warnings = sum(i["severity"] == "warning" and i["row"] not in noted
                        for i in result["issues"])
    counted = [sum(float(cells[name] or 0) for cells in rows.values())
               for name in (templates.ERRORS, templates.WARNINGS, templates.MISSING)]
    assert counted[0] == errors and counted[1] + counted[2] == open_warnings
    return result


def test_every_rule_the_server_checks_has_its_formula(ctx):
    """Each concept gets one check per expectation of its suite (history ones too), each plan
    rule one on its first left-hand row; a new rule without a translation fails here."""
    from planstats.expectations import value_expectations

    catalog = ctx.catalog
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    past = HistoryStats(prev=10.0, low=5.0, high=15.0, years="2021—2023年共3年")
    cells = {code: selfcheck.RowCells(row, concept, letters, past)
             for row, (code, concept) in enumerate(sorted(catalog.concepts.items()), start=4)}
    checks = [c for cell in cells.values() for c in selfcheck.value_checks(cell)]
    for code, cell in cells.items():
        assert len(selfcheck.value_checks(cell)) == len(value_expectations([cell.concept])), code
    by_rule = selfcheck.rule_checks(list(catalog.plans.values()), catalog, cells)
    rules = [c for found in by_rule.values() for c in found]
    assert len(rules) == sum(len(p.rules) for p in catalog.plans.values())
    covered = {c.rule for c in checks + rules}
    assert covered == selfcheck.rule_ids(catalog)
    assert {"value_range", "integer", "ratio_parts", "ratio_consistency", "weight_missing",
            "missing_value", "yoy_change", "history_outlier", "consistency"} <= covered
    # The submission suite's rules (unknown or repeated indicator codes) and the structure
    # checks (region, year, template version) concern cells the template locks.


def test_no_history_no_history_formula(ctx):
    concept = ctx.catalog.concepts["ZB0022"]
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    short = selfcheck.history_of({2022: 0.1, 2023: 0.13}, YEAR, concept)
    assert short.prev == 0.13 and short.low is None
    rules = [c.rule for c in selfcheck.value_checks(selfcheck.RowCells(4, concept, letters, short))]
    assert "yoy_change" in rules and "history_outlier" not in rules


def test_workbooks_computed_by_libreoffice_say_what_the_server_says(
        ctx, make_workbook, history, tmp_path, office_profile):  # noqa: F811
    values = planted(history)
    clean = make_workbook(tmp_path / "clean.xlsx", year=YEAR,
                          overrides={"ZB0022": (0.14, None, None)})
    mistakes = make_workbook(tmp_path / "planted.xlsx", year=YEAR, overrides=values,
                             notes=NOTES)
    fixed = make_workbook(tmp_path / "fixed.xlsx", year=YEAR, overrides={
        **values, "ZB0001": (100, 10, 10), "ZB0031": (values["ZB0031"][0], None, None)},
        notes={**NOTES, "ZB0031": "新创建三个平安社区", "ZB0022": "人才引进计划"})
    county = make_workbook(tmp_path / "jinjiang.xlsx", region=JINJIANG, year=YEAR,
                           overrides={"ZB2049": (60, 60, 100), "ZB2048": (50, 50, 100)})
    out = convert([clean, mistakes, fixed, county], tmp_path / "lo", office_profile)

    result = assert_agrees(ctx, clean, out[0])
    assert result["status"] == "accepted" and summary(out[0]).startswith("自查：未发现")

    result = assert_agrees(ctx, mistakes, out[1])
    assert result["status"] == "rejected"
    rules = {(i["rule"], i["indicator_code"]) for i in result["issues"]}
    assert rules == {
        ("value_range", "ZB0001"), ("ratio_parts", "ZB0001"), ("ratio_consistency", "ZB0002"),
        ("ratio_parts", "ZB0003"), ("numeric", "ZB0005"), ("weight_missing", "ZB0016"),
        ("integer", "ZB0017"), ("ratio_parts", "ZB0020"), ("history_outlier", "ZB0022"),
        ("yoy_change", "ZB0025"), ("yoy_change", "ZB0031"), ("consistency", "ZB0034"),
        ("missing_value", "ZB0036"), ("missing_value", "ZB0037")}
    errors = sum(i["severity"] == "error" for i in result["issues"])
    assert summary(out[1]) == (f"自查：还有 {errors} 处需要修改；2 处需核对（无误的请在“说明”列"
                               "写明原因）；1 项未填写。")

    result = assert_agrees(ctx, fixed, out[2])
    assert_agrees(ctx, county, out[3])

    # Nothing the server reads depends on the formulas: the file LibreOffice saved, with every
    # 自查 cell computed, is checked exactly like the one it was made from.
    again = pipeline.validate_file(out[2], ctx)
    assert again["issues"] == result["issues"] and again["status"] == result["status"]


def test_a_blank_template_counts_what_is_still_to_fill(ctx, tmp_path, office_profile):  # noqa: F811
    path = pipeline.make_template(ENYANG, YEAR, tmp_path / "blank.xlsx", ctx)
    (out,) = convert([path], tmp_path / "lo", office_profile)
    plans = ctx.catalog.plans_for(ctx.regions.ancestors(ENYANG), YEAR)
    assert summary(out) == f"自查：{len(required_indicators(plans, ENYANG))} 项未填写。"


def test_a_value_asked_in_another_unit_is_checked_in_the_concepts_unit(ctx):
    """A template asking in another unit (entered = stored × factor) checks E ÷ factor."""
    concept = ctx.catalog.concepts["ZB0017"]
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    cells = selfcheck.RowCells(4, concept, letters, factor=0.5)
    by_rule = {c.rule: c.condition for c in selfcheck.value_checks(cells)}
    assert "(E4/0.5)" in by_rule["value_range"] and "(E4/0.5)" in by_rule["integer"]
    assert "(E4/0.5)" not in by_rule["yoy_change"], "上年值 is shown in the entered unit"
