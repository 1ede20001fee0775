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
from planstats.catalog import Entry, entries, required_indicators
from planstats.validate import HistoryStats
from tests.office import convert, office_profile  # noqa: F401  (fixture)

ENYANG = "511903"
JINJIANG = "510104"  # 成都市's plan and its warning rule R03 apply here
DONGPO = "511402"  # 眉山市's plan asks ZB0022 in 人 (factor 10000) and ZB0015 in % (0.01)
YEAR = 2024
# 2021–2023 are loaded first: ZB0022's history .10 .10 .13 gives the range .058～.162 (万人).
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
# 东坡区 types in 眉山's units; the server divides by the factor before checking.
DONGPO_PLANTED = {
    "ZB0022": (1650, None, None),   # 1650 人 = .165 万人: outside the county's own range
    "ZB0015": (25, 2000, 10000),    # 25 % is 2500 per 10 000, but 2000 ÷ 10000 × 10000 = 2000
}
DONGPO_FIXED = {
    "ZB0022": (1400, None, None),   # .14 万人: within the range
    "ZB0015": (20, 2000, 10000),    # 20 % = 2000 per 10 000
}
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
def history(ctx, make_workbook) -> dict[str, dict[str, dict[int, float]]]:
    """Three accepted years of 恩阳区 and 东坡区 in the warehouse: last year's values and the
    history range (东坡区 types ZB0022 in 人, stored in 万人). By region, indicator and year."""
    for region in (ENYANG, DONGPO):
        factor = entries(ctx.catalog.plans_for(ctx.regions.ancestors(region), YEAR),
                         region)["ZB0022"].factor
        for year, value in HISTORY.items():
            make_workbook(ctx.settings.inbox / region / f"{year}.xlsx", region=region, year=year,
                          overrides={"ZB0022": (round(value * factor, 6), None, None)})
    outcomes = pipeline.ingest(ctx=ctx)
    assert [o["status"] for o in outcomes] == ["accepted"] * 6, outcomes
    out = {}
    for region in (ENYANG, DONGPO):
        rows = ctx.warehouse.rows("report/current_values", region_code=region, year=YEAR - 1)
        out[region] = {r["indicator_code"]: {YEAR - 1: r["value"]} for r in rows}
    assert out[DONGPO]["ZB0022"] == {YEAR - 1: pytest.approx(0.13)}
    return out


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
    """Every expectation of the server's suites becomes a formula on the rows it can fail on:
    per indicator, exactly the expectations whose parameter columns the server's own frame
    (``validate.add_rule_columns``) fills for it; each plan rule one on its first left-hand
    row. A new expectation, column or row condition without a translation fails here."""
    import pandas as pd

    from planstats.expectations import (
        all_checks,
        all_suites,
        check_id,
        consistency_checks,
        rule_parameters,
        value_expectations,
    )
    from planstats.validate import VALUE_COLUMNS, add_rule_columns

    catalog = ctx.catalog
    suites = all_suites(catalog)
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    past = HistoryStats(prev=10.0, low=5.0, high=15.0, years="2021—2023年共3年")
    codes = sorted(catalog.concepts)
    cells = {code: selfcheck.RowCells(row, catalog.concepts[code], letters, past)
             for row, code in enumerate(codes, start=4)}
    # the server's frame for the same rows, every typed cell and history column filled
    frame = pd.DataFrame({"submission_key": "k", "source_row": range(len(codes)),
                          "region_code": ENYANG, "indicator_code": codes, "value": 1.0,
                          "numerator": 1.0, "denominator": 2.0, "required": 1,
                          "yoy_change": 5.0, "history_z": 0.5})[VALUE_COLUMNS]
    add_rule_columns(frame, rule_parameters(catalog))
    values = [e for e in value_expectations() if e["meta"]["column"] != selfcheck.LOCKED_COLUMN]
    # the suite runs exactly these checks (compiled into the long table)
    assert set(suites["values"]["meta"]["checks"]) == {check_id(e) for e in all_checks()}
    assert len({e["description"] for e in values}) == len(values)

    def can_fail(exp: dict, row: pd.Series) -> bool:
        kwargs, condition = exp["kwargs"], exp["kwargs"].get("row_condition")
        if condition is not None and row[condition.split(" == ")[0]] != 1:
            return False
        return all(pd.notna(row[kwargs[k]]) for k in ("column_A", "column_B") if k in kwargs)

    covered: set[str] = set()
    for (code, cell), (_, row) in zip(cells.items(), frame.iterrows(), strict=True):
        made = [c.expectation for c in selfcheck.value_checks(cell)]
        assert made == [e["description"] for e in values if can_fail(e, row)], code
        covered |= set(made)
    assert covered == {e["description"] for e in values}

    by_rule = selfcheck.rule_checks(list(catalog.plans.values()), catalog, cells)
    rules = [c for found in by_rule.values() for c in found]
    assert len(rules) == sum(len(p.rules) for p in catalog.plans.values())
    assert {c.expectation for c in rules} == {e["description"] for e in consistency_checks()}
    for plan in catalog.plans.values():
        for rule in plan.rules:
            (check,) = [c for c in by_rule[rule.left[0]] if c.key.startswith(f"{plan.code}/")]
            assert check.severity == rule.severity

    checked = {c.rule for cell in cells.values() for c in selfcheck.value_checks(cell)}
    assert checked | {c.rule for c in rules} == selfcheck.rule_ids(catalog)
    assert {"value_range", "integer", "ratio_parts", "ratio_consistency", "weight_missing",
            "missing_value", "yoy_change", "history_outlier", "consistency"} <= checked | {
        c.rule for c in rules}
    # Only the rules on the 指标代码 column, which the template writes and locks, have none;
    # the structure checks (region, year, template version) concern locked cells too.
    locked = {e["meta"]["rule"] for e in all_checks()
              if e["meta"]["column"] == selfcheck.LOCKED_COLUMN}
    assert locked == {"unknown_indicator", "duplicate_indicator"}


def test_an_expectation_without_translation_stops_the_template():
    exp = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "value"},
           "meta": {}}
    with pytest.raises(selfcheck.SelfCheckError):
        selfcheck.failure(exp, {"value": selfcheck.Term("E4", "ISNUMBER(E4)")})
    pair = {"type": selfcheck.PAIR, "kwargs": {"column_A": "value", "column_B": "new_bound",
                                               "ignore_row_if": "either_value_is_missing"}}
    with pytest.raises(selfcheck.SelfCheckError, match="new_bound"):
        selfcheck.failure(pair, {"value": selfcheck.Term("E4", "ISNUMBER(E4)")})


def test_typed_in_the_plans_unit_checked_in_the_concepts(ctx):
    """A row typed in 人 for a concept in 万人 is divided by the factor in every formula."""
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    concept = ctx.catalog.concepts["ZB0022"]
    entry = Entry(concept, (), "人", 10000.0)
    cell = selfcheck.RowCells(4, concept, letters,
                              selfcheck.history_of(HISTORY, YEAR, concept), entry)
    assert cell.stored == "(E4/10000.0)"
    terms = selfcheck.value_terms(cell)
    assert terms["value"].expr == "(E4/10000.0)"
    assert terms["history_z_abs"].expr.startswith("ABS(((E4/10000.0)-")


def test_no_history_no_history_formula(ctx):
    concept = ctx.catalog.concepts["ZB0022"]
    letters = dict(zip(templates.DATA_HEADERS, "ABCDEFGHIJKLM", strict=True))
    short = selfcheck.history_of({2022: 0.1, 2023: 0.13}, YEAR, concept)
    assert short.prev == 0.13 and short.low is None
    rules = [c.rule for c in selfcheck.value_checks(selfcheck.RowCells(4, concept, letters, short))]
    assert "yoy_change" in rules and "history_outlier" not in rules
    none = selfcheck.history_of({}, YEAR, concept)
    rules = [c.rule for c in selfcheck.value_checks(selfcheck.RowCells(4, concept, letters, none))]
    assert "yoy_change" not in rules and "history_outlier" not in rules


def test_workbooks_computed_by_libreoffice_say_what_the_server_says(
        ctx, make_workbook, history, tmp_path, office_profile):  # noqa: F811
    values = planted(history[ENYANG])
    clean = make_workbook(tmp_path / "clean.xlsx", year=YEAR,
                          overrides={"ZB0022": (0.14, None, None)})
    mistakes = make_workbook(tmp_path / "planted.xlsx", year=YEAR, overrides=values,
                             notes=NOTES)
    fixed = make_workbook(tmp_path / "fixed.xlsx", year=YEAR, overrides={
        **values, "ZB0001": (100, 10, 10), "ZB0031": (values["ZB0031"][0], None, None)},
        notes={**NOTES, "ZB0031": "新创建三个平安社区", "ZB0022": "人才引进计划"})
    county = make_workbook(tmp_path / "jinjiang.xlsx", region=JINJIANG, year=YEAR,
                           overrides={"ZB2049": (60, 60, 100), "ZB2048": (50, 50, 100)})
    dongpo = make_workbook(tmp_path / "dongpo.xlsx", region=DONGPO, year=YEAR,
                           overrides=DONGPO_PLANTED)
    dongpo_fixed = make_workbook(tmp_path / "dongpo_fixed.xlsx", region=DONGPO, year=YEAR,
                                 overrides=DONGPO_FIXED)
    out = convert([clean, mistakes, fixed, county, dongpo, dongpo_fixed], tmp_path / "lo",
                  office_profile)

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
    rules = {(i["rule"], i["indicator_code"]) for i in assert_agrees(ctx, county, out[3])["issues"]}
    assert ("consistency", "ZB2049") in rules

    planted_rules = {(i["rule"], i["indicator_code"])
                     for i in assert_agrees(ctx, dongpo, out[4])["issues"]}
    assert {("history_outlier", "ZB0022"), ("ratio_consistency", "ZB0015")} <= planted_rules
    fixed_rules = {(i["rule"], i["indicator_code"])
                   for i in assert_agrees(ctx, dongpo_fixed, out[5])["issues"]}
    assert not fixed_rules & {(r, c) for r, c in planted_rules if c in DONGPO_FIXED}

    # Nothing the server reads depends on the formulas: the file LibreOffice saved, with every
    # 自查 cell computed, is checked exactly like the one it was made from.
    again = pipeline.validate_file(out[2], ctx)
    assert again["issues"] == result["issues"] and again["status"] == result["status"]


def test_a_blank_template_counts_what_is_still_to_fill(ctx, tmp_path, office_profile):  # noqa: F811
    path = pipeline.make_template(ENYANG, YEAR, tmp_path / "blank.xlsx", ctx)
    (out,) = convert([path], tmp_path / "lo", office_profile)
    plans = ctx.catalog.plans_for(ctx.regions.ancestors(ENYANG), YEAR)
    assert summary(out) == f"自查：{len(required_indicators(plans, ENYANG))} 项未填写。"
