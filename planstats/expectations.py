"""Great Expectations suites generated from the catalog: versioned data under include/expectations.

Pure data; importing this module does not import Great Expectations. ``validate`` turns the
dictionaries into GX objects. Each expectation's ``meta`` says which rule it is, which indicator,
how severe, and what the county should do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog, Concept, Plan, Rule

SUITE_SUBMISSION = "submission"
RATIO_TOLERANCE = 0.51  # a county rounds a reported rate to the unit; allow half a unit and a bit
YOY_THRESHOLD = 30.0  # percent change on last year that needs a 说明 (concepts may differ)
HISTORY_SIGMA = 3.0  # "far outside its own history": beyond mean ± 3·sd of the prior years …
HISTORY_MIN_YEARS = 3  # … once there are at least this many of them
EXPLAIN = "请核对；数值无误的，请在“说明”列写明原因（未说明的标为“待核实”）。"
OPERATOR_TEXT = {"<=": "不应大于", ">=": "不应小于", "=": "应等于"}


def _exp(kind: str, kwargs: dict[str, Any], rule: str, severity: str, message: str, fix: str,
         codes: list[str] | None = None, when_value: bool = False,
         condition: str | None = None, **meta_extra: Any) -> dict[str, Any]:
    """One expectation. ``message`` may name the row's concept: {name} {unit} {range} {numerator}
    {denominator} {weight} {scale}, and the row's history {prev} {change} {threshold} {low}
    {high} {years}, are filled per row when the issue is reported."""
    column = kwargs.get("column") or kwargs.get("column_B") or "indicator_code"
    meta: dict[str, Any] = {"rule": rule, "severity": severity, "column": column,
                            "message": message, "fix": fix, **meta_extra}
    if codes is not None:
        meta["indicator_codes"] = codes
        condition = f"indicator_code in {json.dumps(codes)}"
        if when_value:
            condition += " and has_value==1"
    if condition is not None:
        kwargs = {**kwargs, "row_condition": condition, "condition_parser": "pandas"}
    return {"type": kind, "kwargs": kwargs, "meta": meta,
            "severity": "critical" if severity == "error" else "warning"}


def range_text(c: Concept) -> str:
    if c.valid_max is None:
        return f"不小于{c.valid_min or 0:g}"
    return f"{c.valid_min or 0:g}～{c.valid_max:g}"


def value_expectations(concepts: list[Concept]) -> list[dict[str, Any]]:
    """The value rules of a set of concepts, one expectation per rule and parameter set."""
    codes = [c.code for c in concepts]
    out = [_exp("expect_column_values_to_not_be_null", {"column": "value"}, "missing_value",
                "warning", "“{name}”未填写本年值（缺报）。",
                "请填写本年值；确无数据的，请在“说明”列写明原因。", codes)]
    ranges: dict[tuple[float | None, float | None], list[str]] = {}
    for c in concepts:
        ranges.setdefault((c.valid_min, c.valid_max), []).append(c.code)
    for (low, high), group in ranges.items():
        out.append(_exp("expect_column_values_to_be_between",
                        {"column": "value", "min_value": low, "max_value": high}, "value_range",
                        "error", "“{name}”的本年值应在{range}之间（单位：{unit}）。",
                        "请核对数值和单位。", group))
    integers = [c.code for c in concepts if c.integer]
    if integers:
        out.append(_exp("expect_column_values_to_be_between",
                        {"column": "value_frac", "min_value": 0, "max_value": 0}, "integer",
                        "error", "“{name}”是个数，应为整数。", "请填写整数。", integers))
    ratios = [c.code for c in concepts if c.aggregation == "ratio"]
    if ratios:
        out += [
            _exp("expect_column_values_to_not_be_null", {"column": "numerator"}, "ratio_parts",
                 "error", "“{name}”须同时填写分子（{numerator}）。",
                 "请填写分子，上级汇总按Σ分子÷Σ分母计算。", ratios, when_value=True),
            _exp("expect_column_values_to_not_be_null", {"column": "denominator"}, "ratio_parts",
                 "error", "“{name}”须同时填写分母（{denominator}）。",
                 "请填写分母，上级汇总按Σ分子÷Σ分母计算。", ratios, when_value=True),
            _exp("expect_column_values_to_be_between",
                 {"column": "denominator", "min_value": 0, "strict_min": True}, "ratio_parts",
                 "error", "“{name}”的分母（{denominator}）应大于0。", "请核对分母。", ratios),
            _exp("expect_column_values_to_be_between",
                 {"column": "ratio_gap", "min_value": 0, "max_value": RATIO_TOLERANCE},
                 "ratio_consistency", "error",
                 "“{name}”的本年值与分子、分母不一致（应为 分子÷分母×{scale}）。",
                 "请核对本年值、分子、分母三者。", ratios),
        ]
    proportions = [c.code for c in concepts if c.aggregation == "ratio" and c.scale
                   and c.valid_max is not None and c.valid_max <= c.scale]
    if proportions:
        out.append(_exp("expect_column_pair_values_a_to_be_greater_than_b",
                        {"column_A": "denominator", "column_B": "numerator", "or_equal": True,
                         "ignore_row_if": "either_value_is_missing"},
                        "ratio_parts", "error", "“{name}”的分子不应大于分母。",
                        "请核对分子和分母。", proportions))
    weighted = [c.code for c in concepts if c.aggregation == "weighted_mean"]
    if weighted:
        out.append(_exp("expect_column_values_to_not_be_null", {"column": "denominator"},
                        "weight_missing", "error", "“{name}”须在分母列填写权重（{weight}）。",
                        "请在分母列填写权重，上级汇总按加权平均计算。", weighted, when_value=True))
    return out + history_expectations(concepts)


def yoy_threshold(concept: Concept) -> float:
    return concept.yoy_threshold or YOY_THRESHOLD


def history_expectations(concepts: list[Concept]) -> list[dict[str, Any]]:
    """Warnings against the county's own past: year-on-year change, and far outside its history.

    ``yoy_change`` is the percent change on last year; ``history_z`` is the distance from the
    mean of the prior years in standard deviations (see validate.history_columns).
    """
    thresholds: dict[float, list[str]] = {}
    for c in concepts:
        thresholds.setdefault(yoy_threshold(c), []).append(c.code)
    out = [_exp("expect_column_values_to_be_between",
                {"column": "yoy_change", "min_value": -limit, "max_value": limit}, "yoy_change",
                "warning", "“{name}”本年值较上年（{prev}）变化{change}%，超过±{threshold}%。",
                EXPLAIN, group)
           for limit, group in sorted(thresholds.items())]
    out.append(_exp("expect_column_values_to_be_between",
                    {"column": "history_z", "min_value": -HISTORY_SIGMA,
                     "max_value": HISTORY_SIGMA}, "history_outlier", "warning",
                    "“{name}”本年值超出本县往年（{years}）的正常范围{low}～{high}。", EXPLAIN,
                    [c.code for c in concepts]))
    return out


def consistency_suite_name(plan_code: str) -> str:
    return f"{plan_code}.consistency"


def _side_text(codes: tuple[str, ...], catalog: Catalog) -> str:
    names = "与".join(f"“{catalog.concepts[c].name}”" for c in codes)
    return names + ("之和" if len(codes) > 1 else "")


def rule_expectation(plan: Plan, rule: Rule, catalog: Catalog) -> dict[str, Any]:
    """``consistency_gap`` is how far Σ left lies on the wrong side of Σ right (≤ 0 is fine)."""
    rule_id = f"{plan.code}/{rule.id}"
    message = (f"{_side_text(rule.left, catalog)}（{{left_value}}）{OPERATOR_TEXT[rule.operator]}"
               f"{_side_text(rule.right, catalog)}（{{right_value}}）"
               + (f"：{rule.reason}。" if rule.reason else "。"))
    fix = ("请核对这几项指标的本年值、分子、分母。" if rule.severity == "error" else EXPLAIN)
    return _exp("expect_column_values_to_be_between",
                {"column": "consistency_gap", "max_value": rule.tolerance}, "consistency",
                rule.severity, message, fix, condition=f"rule_id == {json.dumps(rule_id)}",
                rule_id=rule_id, left=list(rule.left), operator=rule.operator,
                right=list(rule.right), indicator_codes=list(rule.left))


def consistency_suite(plan: Plan, catalog: Catalog) -> dict[str, Any]:
    return {
        "name": consistency_suite_name(plan.code),
        "meta": {"generated_from": f"include/catalog/plans/{plan.code}.yaml",
                 "rules": len(plan.rules)},
        "expectations": [rule_expectation(plan, r, catalog) for r in plan.rules],
    }


def plan_suite(plan: Plan, catalog: Catalog) -> dict[str, Any]:
    return {
        "name": plan.code,
        "meta": {"generated_from": f"include/catalog/plans/{plan.code}.yaml",
                 "indicators": len(plan.indicators)},
        "expectations": value_expectations([ind.concept for ind in plan.indicators]),
    }


def submission_suite(catalog: Catalog) -> dict[str, Any]:
    codes = sorted(catalog.concepts)
    return {
        "name": SUITE_SUBMISSION,
        "meta": {"generated_from": "include/catalog/concepts"},
        "expectations": [
            _exp("expect_column_values_to_be_in_set",
                 {"column": "indicator_code", "value_set": codes}, "unknown_indicator", "error",
                 "指标代码不在指标目录中。", "请使用模板中的指标代码，不要修改或新增指标行。"),
            _exp("expect_compound_columns_to_be_unique",
                 {"column_list": ["submission_key", "region_code", "indicator_code"]},
                 "duplicate_indicator", "error", "同一指标填报了多行。", "请删除重复的指标行。"),
        ],
    }


def all_suites(catalog: Catalog) -> dict[str, dict[str, Any]]:
    suites = {SUITE_SUBMISSION: submission_suite(catalog)}
    for plan in catalog.plans.values():
        suites[plan.code] = plan_suite(plan, catalog)
        if plan.rules:
            suites[consistency_suite_name(plan.code)] = consistency_suite(plan, catalog)
    return suites


def suite_json(suite: dict[str, Any]) -> str:
    return json.dumps(suite, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_suites(catalog: Catalog, directory: Path) -> list[Path]:
    """Write every suite; files of plans no longer in the catalog are left for a human to remove."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, suite in all_suites(catalog).items():
        path = directory / f"{name}.json"
        path.write_text(suite_json(suite), encoding="utf-8")
        paths.append(path)
    return paths
