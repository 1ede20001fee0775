"""Great Expectations suites generated from the catalog: versioned data under include/expectations.

Pure data; importing this module does not import Great Expectations (``gxkit`` does that). The
rules are few and wide: each is one expectation over every row of a batch, and each row carries
its indicator's parameters as columns (``indicator_rules`` is the one place they come from).
Each expectation's ``meta`` says which rule it is, how severe, and what the county should do;
its ``description`` is what Data Docs show.

GX's cost is per expectation, not per row, so the one suite (``values``) runs those checks, and
the plans' cross-indicator rules (``consistency_checks``), compiled into a long table: a row per
value (or rule and submission) and check that applies to it, ``left ≥ right`` with ``right`` in
the column of the check's severity and strictness. Three pair expectations and one uniqueness
cover every check of a batch; each names the checks it holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog, Concept, Plan, Rule

SUITE_VALUES = "values"  # every check of a batch, over the long table (``values_suite``)
RATIO_TOLERANCE = 0.51  # a county rounds a reported rate to the unit; allow half a unit and a bit
YOY_THRESHOLD = 30.0  # percent change on last year that needs a 说明 (concepts may differ)
HISTORY_SIGMA = 3.0  # "far outside its own history": beyond mean ± 3·sd of the prior years …
HISTORY_MIN_YEARS = 3  # … once there are at least this many of them
EXPLAIN = "请核对；数值无误的，请在“说明”列写明原因（未说明的标为“待核实”）。"
OPERATOR_TEXT = {"<=": "不应大于", ">=": "不应小于", "=": "应等于"}
GX_SEVERITY = {"error": "critical", "warning": "warning"}
SEVERITY_LABEL = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class IndicatorRules:
    """One indicator's rule parameters; None (or False) where a rule does not apply to it."""

    code: str
    value_min: float | None  # 本年值 ≥ value_min
    value_max: float | None  # 本年值 ≤ value_max
    integer: bool  # 本年值 is a whole number
    ratio_scale: float | None  # a rate: 本年值 = 分子 ÷ 分母 × ratio_scale, 分子 and 分母 given
    ratio_tolerance: float | None  # … within this many units, 分母 > 0
    numerator_within_denominator: bool  # a proportion: 分子 ≤ 分母
    needs_weight: bool  # a weighted mean: 分母 carries the weight
    yoy_limit: float  # percent change on last year beyond which a 说明 is asked for
    history_sigma: float  # standard deviations from the county's past that need a 说明


def indicator_rules(concept: Concept) -> IndicatorRules:
    """The parameters of every value rule for one indicator (concept), from the catalog."""
    ratio = concept.aggregation == "ratio"
    return IndicatorRules(
        code=concept.code, value_min=concept.valid_min, value_max=concept.valid_max,
        integer=concept.integer, ratio_scale=concept.scale if ratio else None,
        ratio_tolerance=RATIO_TOLERANCE if ratio else None,
        numerator_within_denominator=bool(ratio and concept.scale and concept.valid_max
                                          is not None and concept.valid_max <= concept.scale),
        needs_weight=concept.aggregation == "weighted_mean", yoy_limit=yoy_threshold(concept),
        history_sigma=HISTORY_SIGMA)


def rule_parameters(catalog: Catalog) -> dict[str, IndicatorRules]:
    """Every indicator's rule parameters, by code."""
    return {code: indicator_rules(c) for code, c in sorted(catalog.concepts.items())}


def yoy_threshold(concept: Concept) -> float:
    return concept.yoy_threshold or YOY_THRESHOLD


def range_text(c: Concept, factor: float = 1.0) -> str:
    """The valid range, in the concept's unit or ``factor`` × it (the unit a county enters)."""
    low = (c.valid_min or 0) * factor
    if c.valid_max is None:
        return f"不小于{low:g}"
    return f"{low:g}～{c.valid_max * factor:g}"


def _exp(kind: str, kwargs: dict[str, Any], rule: str, severity: str, column: str,
         checks: str, message: str, fix: str, condition: str | None = None,
         **meta_extra: Any) -> dict[str, Any]:
    """One expectation over every row. ``column`` is the county's cell a failure points at;
    ``checks`` says what is checked (shown in Data Docs). ``message`` may name the row's concept:
    {name} {unit} {range} {numerator} {denominator} {weight} {scale}, the typed {value}
    (“为150，”, or nothing), and the row's history
    {prev} {change} {threshold} {low} {high} {years}, filled per row when the issue is reported."""
    meta: dict[str, Any] = {"rule": rule, "severity": severity, "column": column,
                            "checks": checks, "message": message, "fix": fix, **meta_extra}
    if condition is not None:
        kwargs = {**kwargs, "row_condition": condition, "condition_parser": "pandas"}
    return {"type": kind, "kwargs": kwargs, "meta": meta, "severity": GX_SEVERITY[severity],
            "description": f"【{SEVERITY_LABEL[severity]}】{rule}：{checks}"}


def _at_least(column: str, bound: str, **kwargs: Any) -> dict[str, Any]:
    """Column-pair kwargs: ``column`` ≥ ``bound`` in each row where both are given."""
    return {"column_A": column, "column_B": bound, "or_equal": True,
            "ignore_row_if": "either_value_is_missing", **kwargs}


def value_expectations() -> list[dict[str, Any]]:
    """The value rules, one expectation each over all rows."""
    ratio_fix = "请填写{part}，上级汇总按Σ分子÷Σ分母计算。"
    return [
        # a flag, not the catalog's codes as a value set: GX validates a long value set
        # again for every metric it builds (over half of the suite's time with 200 codes)
        _exp("expect_column_values_to_be_in_set", {"column": "in_catalog", "value_set": [1]},
             "unknown_indicator", "error", "indicator_code",
             "指标代码在指标目录中（in_catalog = 1，目录见本套件的 parameters）。",
             "指标代码不在指标目录中。", "请使用模板中的指标代码，不要修改或新增指标行。"),
        _exp("expect_compound_columns_to_be_unique",
             {"column_list": ["submission_key", "region_code", "indicator_code"]},
             "duplicate_indicator", "error", "indicator_code", "每份报表每个地区每项指标只有一行。",
             "同一指标填报了多行。", "请删除重复的指标行。"),
        _exp("expect_column_values_to_not_be_null", {"column": "value"}, "missing_value",
             "warning", "value", "所报规划要求的指标（required = 1）填写了本年值。",
             "“{name}”未填写本年值（缺报）。", "请填写本年值；确无数据的，请在“说明”列写明原因。",
             condition="required == 1"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b", _at_least("value", "value_min"),
             "value_range", "error", "value", "本年值 ≥ 该指标的下限 value_min。",
             "“{name}”的本年值{value}应在{range}之间（单位：{unit}）。", "请核对数值和单位。"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b", _at_least("value_max", "value"),
             "value_range", "error", "value", "本年值 ≤ 该指标的上限 value_max。",
             "“{name}”的本年值{value}应在{range}之间（单位：{unit}）。", "请核对数值和单位。"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("frac_max", "value_frac"), "integer", "error", "value_frac",
             "个数类指标（frac_max = 0）的本年值为整数。",
             "“{name}”是个数，应为整数。", "请填写整数。"),
        _exp("expect_column_values_to_not_be_null", {"column": "numerator"}, "ratio_parts",
             "error", "numerator", "比率类指标填了本年值的（needs_parts = 1），也填了分子。",
             "“{name}”须同时填写分子（{numerator}）。", ratio_fix.format(part="分子"),
             condition="needs_parts == 1"),
        _exp("expect_column_values_to_not_be_null", {"column": "denominator"}, "ratio_parts",
             "error", "denominator", "比率类指标填了本年值的（needs_parts = 1），也填了分母。",
             "“{name}”须同时填写分母（{denominator}）。", ratio_fix.format(part="分母"),
             condition="needs_parts == 1"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("denominator", "denominator_floor", or_equal=False), "ratio_parts",
             "error", "denominator", "比率类指标的分母 > denominator_floor（0）。",
             "“{name}”的分母（{denominator}）应大于0。", "请核对分母。"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("numerator_max", "numerator"), "ratio_parts", "error", "numerator",
             "占比类指标的分子 ≤ 分母（numerator_max）。",
             "“{name}”的分子不应大于分母。", "请核对分子和分母。"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("ratio_tolerance", "ratio_gap"), "ratio_consistency", "error",
             "ratio_gap", "比率类指标 |本年值 − 分子÷分母×ratio_scale| ≤ ratio_tolerance。",
             "“{name}”的本年值与分子、分母不一致（应为 分子÷分母×{scale}）。",
             "请核对本年值、分子、分母三者。"),
        _exp("expect_column_values_to_not_be_null", {"column": "denominator"}, "weight_missing",
             "error", "denominator",
             "加权平均类指标填了本年值的（needs_weight = 1），分母列填了权重。",
             "“{name}”须在分母列填写权重（{weight}）。",
             "请在分母列填写权重，上级汇总按加权平均计算。", condition="needs_weight == 1"),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("yoy_limit", "yoy_change_abs"), "yoy_change", "warning", "yoy_change",
             "较上年变化的百分比绝对值 ≤ 该指标的阈值 yoy_limit。",
             "“{name}”本年值较上年（{prev}）变化{change}%，超过±{threshold}%。", EXPLAIN),
        _exp("expect_column_pair_values_a_to_be_greater_than_b",
             _at_least("history_sigma", "history_z_abs"), "history_outlier", "warning",
             "history_z", "与本县往年（至少3年）均值的距离 ≤ history_sigma 个标准差。",
             "“{name}”本年值超出本县往年（{years}）的正常范围{low}～{high}。", EXPLAIN),
    ]


# a long row, named back by GX; rule_id only on the rows of a cross-indicator rule
CHECK_INDEX = ("submission_key", "source_row", "check", "rule_id")
RIGHT_COLUMNS = {("error", False): "error_ge", ("error", True): "error_gt",
                 ("warning", False): "warning_ge", ("warning", True): "warning_gt"}
UNIQUE = "expect_compound_columns_to_be_unique"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"


def check_id(exp: dict[str, Any]) -> str:
    """A value check's name in the long table's ``check`` column, saying what it compares."""
    kw = exp["kwargs"]
    if exp["type"] == PAIR:
        return f"{kw['column_A']}{'>=' if kw.get('or_equal') else '>'}{kw['column_B']}"
    if exp["type"] == UNIQUE:
        return "unique(" + ",".join(kw["column_list"]) + ")"
    if exp["type"] == "expect_column_values_to_not_be_null":
        return f"{kw['column']} given if {kw['row_condition']}"
    if exp["type"] == "expect_column_values_to_be_in_set":
        return f"{kw['column']} in {kw['value_set']}"
    raise ValueError(f"no long-table form for {exp['type']}")


def condition_column(condition: str) -> str:
    """The flag column of a ``<flag> == 1`` row condition, the only form the checks use."""
    column, one = condition.split(" == ")
    if one != "1":
        raise ValueError(f"row condition {condition!r} is not '<flag> == 1'")
    return column


def right_column(exp: dict[str, Any]) -> str:
    """The column that holds a check's right-hand side: its severity's, strict or not."""
    strict = exp["type"] == PAIR and not exp["kwargs"].get("or_equal")
    return RIGHT_COLUMNS[(exp["meta"]["severity"], strict)]


def long_expectations(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The value checks as a few expectations over the long table: one ``left ≥ right`` (or
    ``>``) per right-hand column in use, and the uniqueness checks over their own rows."""
    out = []
    for (severity, strict), right in RIGHT_COLUMNS.items():
        held = [e for e in checks if e["type"] != UNIQUE and right_column(e) == right]
        if not held:
            continue
        rules = list(dict.fromkeys(e["meta"]["rule"] for e in held))
        out.append({
            "type": PAIR,
            "kwargs": {"column_A": "left", "column_B": right, "or_equal": not strict,
                       "ignore_row_if": "either_value_is_missing"},
            # ids only: GX serialises an expectation's meta again for every metric it builds
            "meta": {"rule": "+".join(rules), "severity": severity,
                     "held": [check_id(e) for e in held]},
            "severity": GX_SEVERITY[severity],
            "description": f"【{SEVERITY_LABEL[severity]}】{'、'.join(rules)}：每行一项检查"
                           f"（check 列），left {'>' if strict else '≥'} {right}。"
                           + "；".join(f"{check_id(e)}：{e['meta']['checks']}" for e in held)})
    for e in checks:
        if e["type"] == UNIQUE:
            kwargs = {"column_list": ["check", *e["kwargs"]["column_list"]],
                      "ignore_row_if": "any_value_is_missing"}
            out.append({**e, "kwargs": kwargs, "meta": {**e["meta"], "held": [check_id(e)]}})
    return out


def _parameters_meta(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Each indicator's parameters as the suite file lists them (rules that apply only)."""
    return {code: {k: v for k, v in asdict(r).items()
                   if k != "code" and v is not None and v is not False}
            for code, r in rule_parameters(catalog).items()}


def values_suite(catalog: Catalog) -> dict[str, Any]:
    return {
        "name": SUITE_VALUES,
        "meta": {"generated_from": "include/catalog",
                 "rows": "one per reported value, or per cross-indicator rule and submission, "
                         "and check that applies to it (validate.check_rows): left, and the "
                         "right-hand side in the column of the check's severity; a uniqueness "
                         "check's rows carry its key columns, a rule's its rule_id",
                 "parameters": _parameters_meta(catalog),
                 "rules": consistency_rules(catalog),
                 "checks": {check_id(e): e["description"] for e in all_checks()}},
        "expectations": long_expectations(all_checks()),
    }


def _side_text(codes: tuple[str, ...], catalog: Catalog) -> str:
    names = "与".join(f"“{catalog.concepts[c].name}”" for c in codes)
    return names + ("之和" if len(codes) > 1 else "")


def rule_id(plan: Plan, rule: Rule) -> str:
    return f"{plan.code}/{rule.id}"


def rule_text(plan: Plan, rule: Rule, catalog: Catalog) -> tuple[str, str]:
    """The message ({left_value} and {right_value} filled per submission) and the fix."""
    message = (f"{_side_text(rule.left, catalog)}（{{left_value}}）{OPERATOR_TEXT[rule.operator]}"
               f"{_side_text(rule.right, catalog)}（{{right_value}}）"
               + (f"：{rule.reason}。" if rule.reason else "。"))
    return message, ("请核对这几项指标的本年值、分子、分母。" if rule.severity == "error"
                     else EXPLAIN)


def consistency_rules(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Every plan's cross-indicator rules, by id, as the suite file lists them."""
    rules = {rule_id(p, r): {"left": list(r.left), "operator": r.operator,
                             "right": list(r.right), "severity": r.severity,
                             "tolerance": r.tolerance, "message": rule_text(p, r, catalog)[0]}
             for p in catalog.plans.values() for r in p.rules}
    return dict(sorted(rules.items()))


def consistency_checks() -> list[dict[str, Any]]:
    """The plans' rules as checks over one row per rule and submission where every side is
    reported: ``consistency_gap`` is how far Σ left lies on the wrong side of Σ right (≤ 0 is
    fine); each row carries its rule's tolerance in the column of the rule's severity."""
    return [_exp("expect_column_pair_values_a_to_be_greater_than_b",
                 _at_least(f"{severity}_tolerance", "consistency_gap"), "consistency", severity,
                 "consistency_gap",
                 f"{SEVERITY_LABEL[severity]}级一致性规则：Σ左侧偏离Σ右侧不超过规则的容差"
                 f"（{severity}_tolerance）。", "", "")
            for severity in ("error", "warning")]


def all_checks() -> list[dict[str, Any]]:
    """Every check of a batch, in the order their failures are reported."""
    return [*value_expectations(), *consistency_checks()]


def all_suites(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {SUITE_VALUES: values_suite(catalog)}


def suite_json(suite: dict[str, Any]) -> str:
    return json.dumps(suite, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_suites(catalog: Catalog, directory: Path) -> list[Path]:
    """Write every suite; files of suites no longer generated are left for a human to remove."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, suite in all_suites(catalog).items():
        path = directory / f"{name}.json"
        path.write_text(suite_json(suite), encoding="utf-8")
        paths.append(path)
    return paths
