"""Checking submissions: structure in Python, values with Great Expectations.

Structure (region, year, ownership, template version, the table itself) must hold before the
values can be checked at all. Values are checked by the suite include/expectations/values.json,
run once over every submission of a chunk (see pipeline.ingest) and split back per file and
cell. It runs over a long table (``check_rows``) laid out from two frames: one row per value,
with its indicator's rule parameters and its history (change on last year, distance from the
county's past), and one row per cross-indicator rule and submission. GX itself is driven by
``gxkit``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from planstats.catalog import Catalog, Concept, Entry, Plan, entries, template_version
from planstats.expectations import (
    CHECK_INDEX,
    HISTORY_MIN_YEARS,
    HISTORY_SIGMA,
    PAIR,
    RIGHT_COLUMNS,
    SUITE_VALUES,
    UNIQUE,
    IndicatorRules,
    all_checks,
    check_id,
    condition_column,
    consistency_checks,
    range_text,
    right_column,
    rule_id,
    rule_parameters,
    rule_text,
    value_expectations,
    yoy_threshold,
)
from planstats.intake import Submission, ValueRow
from planstats.issues import ERROR, WARNING, Issue, status_of
from planstats.regions import RegionTree

if TYPE_CHECKING:
    from planstats.forked import Beside
    from planstats.gxkit import Failure

COLUMN_NAMES = {"value": "本年值", "value_frac": "本年值", "ratio_gap": "本年值",
                "yoy_change": "本年值", "history_z": "本年值", "consistency_gap": "本年值",
                "numerator": "分子", "denominator": "分母", "indicator_code": "指标代码",
                "region_code": "行政区划代码"}
VALUE_COLUMNS = ["submission_key", "source_row", "region_code", "indicator_code", "value",
                 "numerator", "denominator", "required", "yoy_change", "history_z"]
NUMBER_COLUMNS = ["value", "numerator", "denominator", "yoy_change", "history_z"]
CONSISTENCY_COLUMNS = ["submission_key", "source_row", "rule_id", "consistency_gap",
                       "error_tolerance", "warning_tolerance"]

History = dict[tuple[str, str], dict[int, float]]  # (region, indicator) → {year: value}
HISTORY_RULES = ("yoy_change", "history_outlier")


@dataclass
class Checked:
    """A submission with everything found wrong with it, ready to load or to send back."""

    submission: Submission
    plans: list[Plan] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    history: History = field(default_factory=dict)  # current values of earlier years

    @property
    def issues(self) -> list[Issue]:
        return self.submission.issues

    @property
    def status(self) -> str:
        return status_of(self.issues)

    @property
    def key(self) -> str:
        return self.submission.file_hash[:16]

    @cached_property
    def asked(self) -> dict[str, Entry]:
        """What the county enters for each concept (its unit and factor)."""
        return entries(self.plans, self.submission.region_code or "")

    def to_dict(self) -> dict[str, Any]:
        sub = self.submission
        return {
            "file": str(sub.path),
            "region_code": sub.region_code,
            "year": sub.year,
            "status": self.status,
            "issues": [i.to_dict() for i in sorted_issues(self.issues)],
            "summary": self.summary,
        }


def sorted_issues(issues: Iterable[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.severity != ERROR, i.row or 0, i.column or "", i.rule))


def check_structure(item: Checked, catalog: Catalog, regions: RegionTree) -> None:
    """Region, year, ownership, template version, indicator rows: the plans that apply and what
    the county enters for them (``item.plans``, ``item.asked``; none where the file fails)."""
    item.plans = _structure(item, catalog, regions)


def _structure(item: Checked, catalog: Catalog, regions: RegionTree) -> list[Plan]:
    sub = item.submission
    info_row = {k: int(v) for k, v in sub.info.items() if k.endswith("@row")}
    region = sub.info.get("行政区划代码", "")
    where = {"sheet": "填报信息" if sub.is_workbook else sub.data_sheet,
             "row": info_row.get("行政区划代码@row"), "column": "B" if sub.is_workbook else None}
    if not region:
        sub.fail("missing_region", "未填写行政区划代码。", "行政区划代码 is empty", **where)
        return []
    if region not in regions:
        sub.fail("unknown_region", f"行政区划代码“{region}”不是四川省的县级行政区划代码。",
                 f"unknown region code {region!r}", value=region, **where)
        return []
    sub.region_code = region
    if sub.folder and not regions.is_within(region, sub.folder):
        sub.fail("ownership",
                 f"本文件填报的是“{regions.name(region)}（{region}）”的数据，但放在了"
                 f"“{regions.name(sub.folder)}（{sub.folder}）”的文件夹中；每个县只能提交本县的数据。",
                 f"file for {region} dropped in the folder of {sub.folder}", value=region, **where)
        return []
    for row in sub.rows:
        unit = row.region_code or region
        if unit != region and not (unit.startswith(region) and regions.with_unit(unit)):
            sub.fail("ownership",
                     f"行政区划代码“{unit}”不属于“{regions.name(region)}”，整个文件不予接收。",
                     f"row region {unit} is not within {region}", sheet=sub.data_sheet,
                     row=row.row, column=row.columns.get("行政区划代码"), value=unit)
            return []
        row.region_code = unit
    year_text = sub.info.get("统计年度", "")
    year_where = {**where, "row": info_row.get("统计年度@row")}
    try:
        year = int(float(year_text))
    except ValueError:
        sub.fail("missing_year", f"统计年度“{year_text}”无效，应为四位年份，如 2024。",
                 f"invalid statistics year {year_text!r}", value=year_text, **year_where)
        return []
    sub.year = year
    plans = catalog.plans_for(regions.ancestors(region), year)
    if not plans:
        sub.fail("year_out_of_period",
                 f"{year} 年不在适用于“{regions.name(region)}”的任何规划期内。",
                 f"no plan covers {region} in {year}", value=year, **year_where)
        return []
    sub.template_version = sub.info.get("模板版本") or None
    asked = entries(plans, region)
    current = template_version(asked.values())
    if sub.is_workbook and sub.template_version != current:
        sub.fail("template_version",
                 f"模板版本“{sub.template_version or '无'}”已过期，请下载 {current} "
                 f"版模板（planstats template --region {region} --year {year}）重新填报。",
                 f"template version {sub.template_version!r} is outdated; use {current}",
                 value=sub.template_version,
                 **{**where, "row": info_row.get("模板版本@row")})
        return []
    _resolve_codes(sub, catalog, asked)
    if sub.rows and all(r.value is None for r in sub.rows):
        first = sub.rows[0]
        sub.fail("empty_submission",
                 "“本年值”一栏全部为空：空白表不算报送，本文件未入库。请填写本年数据后重新提交；"
                 "个别指标确实无法填报的，在“说明”列写明原因。",
                 "no 本年值 at all: an empty template is not a report", sheet=sub.data_sheet,
                 row=first.row, column=first.columns.get("本年值"))
        return []
    item.asked = asked  # worked out once a file (Checked.asked's value for these plans)
    return plans


def _resolve_codes(sub: Submission, catalog: Catalog, asked: dict[str, Entry]) -> None:
    """Match rows by code first and name second; list required indicators (``asked``: what the
    county enters) missing from the sheet."""
    for row in sub.rows:
        if row.indicator_code not in catalog.concepts and row.name:
            concept = catalog.concept_by_name(row.name)
            if concept:
                row.indicator_code = concept.code
    for row in sub.rows:  # entered in the unit the template asks, stored in the concept's
        if row.indicator_code in asked:
            row.value = asked[row.indicator_code].stored(row.value)
    present = {row.indicator_code for row in sub.rows}  # by the county or units below it
    for code, entry in asked.items():
        ind = entry.uses[0][1]
        if code not in present:
            sub.issues.append(Issue(WARNING, "missing_value",
                                    f"缺少指标“{ind.concept.name}”（{code}）的数据行（缺报）。",
                                    f"indicator {code} is missing", indicator_code=code,
                                    sheet=sub.data_sheet))


HISTORY_COLUMNS = ("region_code", "indicator_code", "year", "value")


def history_from(rows: Iterable[tuple[str, str, int, float | None]]) -> History:
    """Warehouse rows (region_code, indicator_code, year, value) as a history lookup."""
    out: History = {}
    for region, code, year, value in rows:
        if value is not None:
            out.setdefault((region, code), {})[int(year)] = float(value)
    return out


def unit_of(sub: Submission, row: ValueRow) -> str:
    """The region a row's value is of: its own code, else the file's; the key of its history."""
    return row.region_code or sub.region_code or ""


def add_batch_history(checked: list[Checked]) -> None:
    """Earlier years sent in the same batch count as history, as they would once loaded.

    Only files without errors so far: a file that is going to be rejected is no history.
    """
    for i, item in enumerate(checked):
        sub = item.submission
        for earlier in checked[:i]:
            old = earlier.submission
            if (old.region_code != sub.region_code or old.year is None or sub.year is None
                    or old.year >= sub.year or any(x.severity == ERROR for x in earlier.issues)):
                continue
            for row in old.rows:
                if row.value is not None:
                    key = (unit_of(old, row), row.indicator_code)
                    item.history.setdefault(key, {})[old.year] = row.value


class HistoryStats(NamedTuple):
    """One value against the county's own past (None where there is too little past).

    A named tuple, not a dataclass: the data-quality analysis makes one for every county value
    with a past (the checks make their columns at once, ``_Pasts``, and one only for a message).
    """

    prev: float | None = None
    change: float | None = None  # percent change on last year
    z: float | None = None  # distance from the prior years' mean, in (floored) sd
    low: float | None = None
    high: float | None = None
    years: str = ""


NO_HISTORY = HistoryStats()


def _stdev(values: list[float], mean: float) -> float:
    """Sample standard deviation in floats: ``statistics.stdev`` works in exact fractions, which
    cost most of the frame's time at community scale (a few prior years per value)."""
    return math.sqrt(math.fsum([(v - mean) ** 2 for v in values]) / (len(values) - 1))


def history_stats(value: float | None, past: Mapping[int, float], year: int | None,
                  concept: Concept | None) -> HistoryStats:
    """Change on last year, and how far outside mean ± 3·sd of the prior years the value lies.

    The sd is floored at (yoy threshold × |mean|) / 3, so a steady series is not flagged for a
    step smaller than the year-on-year threshold.
    """
    if value is None or year is None or concept is None or not past:
        return NO_HISTORY
    prior = past if max(past) < year else {y: v for y, v in past.items() if y < year}
    prev = prior.get(year - 1)
    change = None if not prev else (value - prev) / abs(prev) * 100
    if len(prior) < HISTORY_MIN_YEARS:
        return HistoryStats(prev, change)
    values = list(prior.values())
    mean = math.fsum(values) / len(values)  # what statistics.fmean computes, without its checks
    sd = max(_stdev(values, mean), abs(mean) * yoy_threshold(concept) / 100 / HISTORY_SIGMA)
    if sd == 0:
        return HistoryStats(prev, change)
    years = f"{min(prior)}—{max(prior)}年共{len(prior)}年"
    return HistoryStats(prev, change, (value - mean) / sd, mean - HISTORY_SIGMA * sd,
                        mean + HISTORY_SIGMA * sd, years)


@dataclass(frozen=True)
class RuleRow:
    """One consistency rule of one submission, as its message quotes it."""

    source_row: int
    left: float
    right: float
    message: str
    fix: str


@dataclass
class Frames:
    """What the suites check, and the per-row facts their messages quote."""

    values: Any  # pandas.DataFrame, imported lazily: a row per value
    consistency: Any
    rules: dict[tuple[str, str], RuleRow]  # (submission, rule id) → its sides and wording


def frames(checked: list[Checked], catalog: Catalog) -> Frames:
    """One long table of every value of every submission, and one row per rule and submission,
    each row with the parameters of its rules as columns."""
    import pandas as pd

    records, factors = [], []
    past_of = _Pasts()
    for item in checked:
        sub, key, past = item.submission, item.key, item.history
        asked = {ind.concept.code for plan in item.plans for ind in plan.indicators}
        factor = {code: entry.factor for code, entry in item.asked.items()}
        year = sub.year
        for row in sub.rows:
            code, value = row.indicator_code, row.value
            factors.append(factor.get(code, 1.0))
            region = unit_of(sub, row)
            # only values with a past have anything to hold against it
            series = past.get((region, code)) if value is not None and year else None
            if series and code in catalog.concepts:
                past_of.add(len(records), value, series, year, catalog.concepts[code])
            records.append((key, row.row, region, code, value, row.numerator, row.denominator,
                            int(code in asked)))
    values = pd.DataFrame.from_records(records, columns=VALUE_COLUMNS[:-2])
    values["yoy_change"], values["history_z"] = past_of.columns(len(records))
    for column in ("submission_key", "region_code", "indicator_code"):  # few distinct codes:
        values[column] = values[column].astype("category")  # maps and copies per category
    add_rule_columns(values, rule_parameters(catalog))
    # a rate is rounded in the unit the county types: half of that unit, in the concept's
    values["ratio_tolerance"] /= factors
    consistency, rules = consistency_frame(checked, catalog)
    return Frames(values, consistency, rules)


class _Pasts:
    """The values with a past, and their history columns computed at once: ``history_stats``'s
    change on last year and z, in arrays (it cost half of the frame's time, a call a value).
    The past of a value in a batch holds earlier years only (history_from, add_batch_history).
    Means and sums of squares add in order, not exactly as ``math.fsum``: a z differs from
    ``history_stats``'s in its last bits at most; messages quote ``history_stats``.
    """

    def __init__(self) -> None:
        self.at: list[int] = []
        self.values: list[float] = []
        self.pasts: list[Mapping[int, float]] = []
        self.prev: list[float | None] = []
        self.floors: list[float] = []  # the sd floor's share of |mean|

    def add(self, at: int, value: float, past: Mapping[int, float], year: int,
            concept: Concept) -> None:
        self.at.append(at)
        self.values.append(value)
        self.pasts.append(past)
        self.prev.append(past.get(year - 1))
        self.floors.append(yoy_threshold(concept) / 100 / HISTORY_SIGMA)

    def columns(self, size: int) -> tuple[Any, Any]:
        """yoy_change and history_z of ``size`` rows (NaN where a row has no past)."""
        import numpy as np

        change, z = np.full(size, np.nan), np.full(size, np.nan)
        if not self.at:
            return change, z
        value = np.array(self.values, dtype="float64")
        prev = np.array(self.prev, dtype="float64")  # None: NaN
        counts = np.fromiter(map(len, self.pasts), "int64", len(self.pasts))
        flat = np.fromiter(chain.from_iterable(p.values() for p in self.pasts), "float64",
                           int(counts.sum()))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        mean = np.add.reduceat(flat, starts) / counts
        squares = np.add.reduceat((flat - np.repeat(mean, counts)) ** 2, starts)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.maximum(np.sqrt(squares / (counts - 1)),
                            np.abs(mean) * np.array(self.floors))
            last = np.where((prev != 0) & ~np.isnan(prev),
                            (value - prev) / np.abs(prev) * 100, np.nan)
            held = np.where((counts >= HISTORY_MIN_YEARS) & (sd != 0), (value - mean) / sd,
                            np.nan)
        at = np.array(self.at)
        change[at], z[at] = last, held
        return change, z


def add_rule_columns(df: Any, params: Mapping[str, IndicatorRules]) -> None:
    """Each row's rule parameters (by its indicator) and the derived columns the suite checks.

    ``df`` has VALUE_COLUMNS; a parameter that does not apply to a row is left empty, and
    the column-pair expectations skip rows with an empty side.
    """
    import pandas as pd

    code = df["indicator_code"]
    df[NUMBER_COLUMNS] = df[NUMBER_COLUMNS].astype("float64")

    def column(name: str) -> Any:
        found = {c: getattr(r, name) for c, r in params.items() if getattr(r, name) is not None}
        return code.map(found).astype("float64")

    def flag(name: str) -> Any:
        return code.isin({c for c, r in params.items() if getattr(r, name)})

    has_value = df["value"].notna()
    scale = column("ratio_scale")
    ratio = scale.notna()
    df["has_value"] = has_value.astype("int64")
    df["in_catalog"] = code.isin(params.keys()).astype("int64")
    df["value_min"] = column("value_min")
    df["value_max"] = column("value_max")
    df["value_frac"] = (df["value"] - df["value"].round()).abs()
    df["frac_max"] = pd.Series(0.0, index=df.index).where(flag("integer"))
    df["needs_parts"] = (ratio & has_value).astype("int64")
    df["denominator_floor"] = pd.Series(0.0, index=df.index).where(ratio)
    df["numerator_max"] = df["denominator"].where(flag("numerator_within_denominator"))
    df["ratio_tolerance"] = column("ratio_tolerance")
    usable = ratio & has_value & df["numerator"].notna() & (df["denominator"] > 0)
    df["ratio_gap"] = (df["value"] - scale * df["numerator"] / df["denominator"]).abs() \
        .where(usable)
    df["needs_weight"] = (flag("needs_weight") & has_value).astype("int64")
    df["yoy_limit"] = column("yoy_limit")
    df["yoy_change_abs"] = df["yoy_change"].abs()
    df["history_sigma"] = column("history_sigma")
    df["history_z_abs"] = df["history_z"].abs()


def check_rows(values: Any, consistency: Any | None = None) -> Any:
    """The frames laid out long for the suite: a row per value (``values``, the wide frame) or
    rule and submission (``consistency``) and check that can fail on it, ``left`` against
    ``right`` in the column of the check's severity.

    A pair check keeps the rows where both sides are given (GX would skip the others); a
    not-null check the rows its flag selects, ``left`` 1 where the value is given; a value set
    ``left`` 1 where the value is in it; a uniqueness check every row, with its key columns.
    """
    import numpy as np
    import pandas as pd

    frames = [(values, value_expectations())]
    if consistency is not None and not consistency.empty:
        key = values["submission_key"].dtype
        if isinstance(key, pd.CategoricalDtype):  # the parts' keys stay categories in concat
            consistency = consistency.assign(submission_key=pd.Categorical(
                consistency["submission_key"], dtype=key))
        frames.append((consistency, consistency_checks()))
    parts, checks_of_parts = [], []
    for df, checks in frames:
        keys = [c for c in ("submission_key", "source_row", "rule_id") if c in df]
        for exp in checks:
            parts.append(_check_part(df, exp, keys))
            checks_of_parts.append(check_id(exp))
    columns = [*CHECK_INDEX, "left", *RIGHT_COLUMNS.values()]
    out = pd.concat(parts, ignore_index=True, sort=False)
    # few distinct keys: GX copies the frame for each metric, categories make that cheap;
    # each part's check is known, so its column is made from codes, not from 200,000 texts
    names = list(dict.fromkeys(checks_of_parts))
    out["check"] = pd.Categorical.from_codes(np.repeat(
        [names.index(c) for c in checks_of_parts], [len(p) for p in parts]), categories=names)
    for column in columns:
        if column not in out:
            out[column] = np.nan
    for column in ("submission_key", "rule_id", "region_code", "indicator_code"):
        if not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype("category")
    return out


def _check_part(df: Any, exp: dict[str, Any], keys: list[str]) -> Any:
    import pandas as pd

    kind, kw = exp["type"], exp["kwargs"]
    if kind == PAIR:
        left, right = df[kw["column_A"]], df[kw["column_B"]]
        rows = left.notna() & right.notna()
    elif kind == "expect_column_values_to_not_be_null":
        rows = df[condition_column(kw["row_condition"])] == 1
        left, right = df[kw["column"]].notna().astype("float64"), 1.0
    elif kind == "expect_column_values_to_be_in_set":
        rows = pd.Series(True, index=df.index)
        left, right = df[kw["column"]].isin(kw["value_set"]).astype("float64"), 1.0
    elif kind == UNIQUE:
        return df.loc[:, list(dict.fromkeys([*keys, *kw["column_list"]]))]
    else:
        raise ValueError(f"no long-table form for {kind}")
    return df.loc[rows, keys].assign(
        left=left[rows],
        **{right_column(exp): right[rows] if isinstance(right, pd.Series) else right})


def expand_checks(failures: list[Failure]) -> list[Failure]:
    """A long-table expectation's failing rows split per check it holds, in the order of the
    checks (``all_checks``), each with that check's meta; a row's empty keys are dropped."""
    checks = {check_id(e): (i, e["meta"]) for i, e in enumerate(all_checks())}
    out: list[tuple[int, Failure]] = []
    for _, rows in failures:
        by_check: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_check[row["check"]].append({k: v for k, v in row.items() if v == v})  # not NaN
        out += [(checks[check][0], (checks[check][1], found))
                for check, found in by_check.items()]
    return [f for _, f in sorted(out, key=lambda x: x[0])]


def consistency_frame(checked: list[Checked], catalog: Catalog
                      ) -> tuple[Any, dict[tuple[str, str], RuleRow]]:
    """Σ left and Σ right of each rule of each plan that applies, where every side is reported.

    A rule is about the county's own figures: rows of units below the county are not summed in.
    """
    import pandas as pd

    records, rules = [], {}
    for item in checked:
        sub = item.submission
        own = {r.indicator_code: r for r in sub.rows
               if (r.region_code or sub.region_code) == sub.region_code}
        for plan in item.plans:
            for rule in plan.rules:
                rows = [own.get(c) for c in (*rule.left, *rule.right)]
                if any(r is None or r.value is None for r in rows):
                    continue  # a missing side is reported as 缺报 already
                left = math.fsum(own[c].value for c in rule.left)
                right = math.fsum(own[c].value for c in rule.right)
                gap = {"<=": left - right, ">=": right - left, "=": abs(left - right)}
                key = rule_id(plan, rule)
                rules[(item.key, key)] = RuleRow(own[rule.left[0]].row, left, right,
                                                 *rule_text(plan, rule, catalog))
                records.append({
                    "submission_key": item.key, "source_row": own[rule.left[0]].row,
                    "rule_id": key, "consistency_gap":
                    gap[rule.operator], "error_tolerance": rule.tolerance
                    if rule.severity == ERROR else None, "warning_tolerance": rule.tolerance
                    if rule.severity == WARNING else None})
    frame = pd.DataFrame.from_records(records, columns=CONSISTENCY_COLUMNS)
    tolerances = ["consistency_gap", "error_tolerance", "warning_tolerance"]
    frame[tolerances] = frame[tolerances].astype("float64")
    return frame, rules


def _run_name(checked: list[Checked]) -> str:
    """Which county-years a run checked, for finding it in Data Docs."""
    names = sorted({f"{c.submission.year or 'unknown'}-{c.submission.region_code or 'unknown'}"
                    for c in checked})
    return names[0] if len(names) == 1 else f"{names[0]}+{len(names) - 1}"


def check_values(checked: list[Checked], catalog: Catalog, expectations_dir: Path,
                 project_dir: Path | None, prune: bool = True,
                 beside: Beside[list[Failure]] | None = None) -> None:
    """Run the suites once over every submission that could be read and attach the issues.

    ``project_dir`` None validates in an ephemeral GX context that writes nothing. ``prune``
    False leaves the old results to the caller (an ingest prunes once, not per chunk).
    ``beside``: where GX runs (``gxkit.run_suites``); not called when nothing is left to
    check.
    """
    from planstats import gxkit

    usable = [c for c in checked if not c.submission.fatal and c.submission.rows]
    if not usable:
        return
    add_batch_history(usable)
    data = frames(usable, catalog)
    run_name = _run_name(usable)
    failures = expand_checks(gxkit.run_suites(
        check_rows(data.values, data.consistency), [SUITE_VALUES], expectations_dir,
        project_dir, "values", CHECK_INDEX, run_name, beside))
    if prune:
        gxkit.prune_results(gxkit.gx_context(project_dir))  # also the in-memory store of dry runs
    _attach(usable, failures, catalog, data)


def _attach(usable: list[Checked], failures: list[Failure], catalog: Catalog,
            data: Frames) -> None:
    """Turn unexpected rows back into issues on the county's cells, once per rule and cell."""
    by_key = {c.key: c for c in usable}
    seen: set[tuple[str, str, int, str | None]] = set()
    bad_cells = {c.key: {(i.row, _column_name(c, i.column)) for i in c.issues if i.row}
                 for c in usable}
    error_cells: dict[str, set[tuple[int, str]]] = defaultdict(set)
    history_cells: dict[str, set[tuple[int, str]]] = defaultdict(set)
    # errors first: a cell that must be fixed anyway gets no warning about the same value
    order = {"error": 0, "yoy_change": 1, "history_outlier": 2}
    for meta, rows in sorted(failures, key=lambda f: (order.get(f[0]["severity"], 1),
                                                      order.get(f[0]["rule"], 1))):
        column = COLUMN_NAMES[meta["column"]]
        severity = ERROR if meta["severity"] == "error" else WARNING
        for bad in rows:
            item = by_key.get(bad.get("submission_key"))
            if item is None:
                continue
            rule = data.rules.get((item.key, bad.get("rule_id", "")))
            row_no = rule.source_row if rule else int(bad["source_row"])
            key = (item.key, bad.get("rule_id") or meta["rule"], row_no, meta["column"])
            if key in seen:
                continue
            seen.add(key)
            row = next(r for r in item.submission.rows if r.row == row_no)
            cell = (row_no, column)
            if cell in bad_cells[item.key]:
                continue  # the cell already has an error from reading it
            if severity == WARNING and cell in error_cells[item.key]:
                continue
            if meta["rule"] in HISTORY_RULES:
                if cell in history_cells[item.key]:
                    continue  # one 说明 answers both: a jump on last year is also off-history
                history_cells[item.key].add(cell)
            if severity == ERROR:
                error_cells[item.key].add(cell)
            entry = item.asked.get(row.indicator_code)
            if rule:
                facts = {"left_value": _num(rule.left), "right_value": _num(rule.right)}
                wording = (rule.message, rule.fix)
            else:
                past = item.history.get((unit_of(item.submission, row),
                                         row.indicator_code)) or {}
                facts = _value_facts(row.value, history_stats(
                    row.value, past, item.submission.year,
                    catalog.concepts.get(row.indicator_code)), entry)
                wording = (meta["message"], meta["fix"])
            item.issues.append(Issue(
                severity=severity, rule=meta["rule"],
                message=_message(*wording, catalog.concepts.get(row.indicator_code), facts,
                                 row.note if severity == WARNING else "", entry),
                message_en=bad.get("rule_id") or meta["rule"].replace("_", " "),
                indicator_code=row.indicator_code or None, sheet=item.submission.data_sheet,
                row=row_no, column=row.columns.get(column), value=_plain(row.raw.get(column))))


def _value_facts(value: float | None, stats: HistoryStats,
                 entry: Entry | None = None) -> dict[str, str]:
    """The numbers a value rule's message quotes for one row, in the unit the county enters
    (values are checked in the concept's unit: ``entry.entered`` turns them back)."""
    def shown(v: float | None) -> str:
        return _num(entry.entered(v) if entry else v)

    return {"value": "" if value is None else f"为{shown(value)}，", "prev": shown(stats.prev),
            "change": _num(stats.change, "+.1f"), "low": shown(stats.low),
            "high": shown(stats.high), "years": stats.years}


def _num(value: float | None, spec: str = "") -> str:
    """A number as a county would write it: two decimals at most, three digits when below 1."""
    if value is None:
        return ""
    if spec:
        return format(value, spec)
    return f"{round(value, 2):.12g}" if abs(value) >= 1 else f"{value:.3g}"


def _column_name(checked: Checked, letter: str | None) -> str | None:
    rows = checked.submission.rows
    names = rows[0].columns if rows else {}
    return next((name for name, col in names.items() if col == letter), None)


def _message(template: str, fix: str, concept: Concept | None, facts: Mapping[str, str],
             note: str = "", entry: Entry | None = None) -> str:
    """The issue in the county's words; a warning already explained in 说明 says so.

    Unit, range and scale are said in the unit the county enters (``entry``, else the
    concept's); ``facts`` are quoted in that unit already. An absent {value} reads as nothing.
    """
    if concept is None:  # an unknown code: its rules name no concept
        return template + fix
    unit, factor = (entry.unit, entry.factor) if entry else (concept.unit, 1.0)
    text = template.format_map({
        "name": concept.name, "unit": unit, "range": range_text(concept, factor),
        "numerator": concept.numerator, "denominator": concept.denominator,
        "weight": concept.weight, "scale": f"{(concept.scale or 1) * factor:g}",
        "threshold": f"{yoy_threshold(concept):g}", "value": "", **facts})
    if note:
        return text + f"已在“说明”列说明：“{note}”，标为“已说明”，由审核人核实。"
    return text + fix


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value)):
        return None
    return value if value != "" else None
