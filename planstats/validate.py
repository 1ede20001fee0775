"""Checking submissions: structure in Python, values with Great Expectations.

Structure (region, year, ownership, template version, the table itself) must hold before the
values can be checked at all. Values are checked by the suites under include/expectations,
run once over every submission of a chunk (see pipeline.ingest) and split back per file and
cell: the plan suites over one row per value (with its history: change on last year, distance
from the county's past), the consistency suites over one row per cross-indicator rule and
submission.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog, Concept, Plan, required_indicators, template_version
from planstats.intake import Submission
from planstats.issues import ERROR, WARNING, Issue, status_of
from planstats.regions import RegionTree

COLUMN_NAMES = {"value": "本年值", "value_frac": "本年值", "ratio_gap": "本年值",
                "yoy_change": "本年值", "history_z": "本年值", "consistency_gap": "本年值",
                "numerator": "分子", "denominator": "分母", "indicator_code": "指标代码",
                "region_code": "行政区划代码"}
VALUE_COLUMNS = ["submission_key", "source_row", "region_code", "indicator_code", "value",
                 "numerator", "denominator", "has_value", "value_frac", "ratio_gap", "yoy_change",
                 "history_z"]
CONSISTENCY_COLUMNS = ["submission_key", "source_row", "indicator_code", "rule_id", "left_value",
                       "right_value", "consistency_gap"]
# Stored GX validation results kept per suite; older ones are derived data and are pruned so
# Data Docs build in bounded time. The county's files and reports are never touched.
KEEP_RUNS = int(os.environ.get("PLANSTATS_GX_KEEP_RUNS", "30"))

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


def check_structure(sub: Submission, catalog: Catalog, regions: RegionTree) -> list[Plan]:
    """Region, year, ownership, template version, indicator rows; returns the plans that apply."""
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
    current = template_version(c for c in _required_concepts(catalog, plans, region))
    if sub.is_workbook and sub.template_version != current:
        sub.fail("template_version",
                 f"模板版本“{sub.template_version or '无'}”已过期，请下载 {current} "
                 f"版模板（planstats template --region {region} --year {year}）重新填报。",
                 f"template version {sub.template_version!r} is outdated; use {current}",
                 value=sub.template_version,
                 **{**where, "row": info_row.get("模板版本@row")})
        return []
    _resolve_codes(sub, catalog, plans)
    return plans


def _required_concepts(catalog: Catalog, plans: list[Plan], region: str) -> list[Any]:
    return [catalog.concepts[code] for code in required_indicators(plans, region)]


def _resolve_codes(sub: Submission, catalog: Catalog, plans: list[Plan]) -> None:
    """Match rows by code first and name second; list required indicators missing from the sheet."""
    for row in sub.rows:
        if row.indicator_code not in catalog.concepts and row.name:
            concept = catalog.concept_by_name(row.name)
            if concept:
                row.indicator_code = concept.code
    present = {row.indicator_code for row in sub.rows}  # by the county or units below it
    for code, uses in required_indicators(plans, sub.region_code or "").items():
        ind = uses[0][1]
        if code not in present:
            sub.issues.append(Issue(WARNING, "missing_value",
                                    f"缺少指标“{ind.concept.name}”（{code}）的数据行（缺报）。",
                                    f"indicator {code} is missing", indicator_code=code,
                                    sheet=sub.data_sheet))


def history_from(rows: Iterable[Mapping[str, Any]]) -> History:
    """Warehouse rows (region_code, indicator_code, year, value) as a history lookup."""
    out: History = {}
    for r in rows:
        if r["value"] is not None:
            out.setdefault((r["region_code"], r["indicator_code"]), {})[int(r["year"])] = \
                float(r["value"])
    return out


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
                    key = (row.region_code or old.region_code or "", row.indicator_code)
                    item.history.setdefault(key, {})[old.year] = row.value


@dataclass(frozen=True)
class HistoryStats:
    """One value against the county's own past (None where there is too little past)."""

    prev: float | None = None
    change: float | None = None  # percent change on last year
    z: float | None = None  # distance from the prior years' mean, in (floored) sd
    low: float | None = None
    high: float | None = None
    years: str = ""


def history_stats(value: float | None, past: Mapping[int, float], year: int | None,
                  concept: Concept | None) -> HistoryStats:
    """Change on last year, and how far outside mean ± 3·sd of the prior years the value lies.

    The sd is floored at (yoy threshold × |mean|) / 3, so a steady series is not flagged for a
    step smaller than the year-on-year threshold.
    """
    from planstats.expectations import HISTORY_MIN_YEARS, HISTORY_SIGMA, yoy_threshold

    if value is None or year is None or concept is None:
        return HistoryStats()
    prior = {y: v for y, v in past.items() if y < year}
    prev = prior.get(year - 1)
    change = None if not prev else (value - prev) / abs(prev) * 100
    if len(prior) < HISTORY_MIN_YEARS:
        return HistoryStats(prev, change)
    mean = statistics.fmean(prior.values())
    sd = max(statistics.stdev(prior.values()),
             abs(mean) * yoy_threshold(concept) / 100 / HISTORY_SIGMA)
    if sd == 0:
        return HistoryStats(prev, change)
    years = f"{min(prior)}—{max(prior)}年共{len(prior)}年"
    return HistoryStats(prev, change, (value - mean) / sd, mean - HISTORY_SIGMA * sd,
                        mean + HISTORY_SIGMA * sd, years)


@dataclass
class Frames:
    """What the suites check, and the per-row facts their messages quote."""

    values: Any  # pandas.DataFrame, imported lazily
    consistency: Any
    history: dict[tuple[str, int], HistoryStats]
    sides: dict[tuple[str, str], tuple[float, float]]  # (submission, rule id) → (left, right)


def frames(checked: list[Checked], catalog: Catalog) -> Frames:
    """One long table of every value of every submission, and one row per rule and submission."""
    import pandas as pd

    records, history = [], {}
    for item in checked:
        sub = item.submission
        for row in sub.rows:
            value, num, den = row.value, row.numerator, row.denominator
            region = row.region_code or sub.region_code or ""
            stats = history_stats(value, item.history.get((region, row.indicator_code), {}),
                                  sub.year, catalog.concepts.get(row.indicator_code))
            history[(item.key, row.row)] = stats
            records.append({
                "submission_key": item.key, "source_row": row.row,
                "region_code": region, "indicator_code": row.indicator_code,
                "value": value, "numerator": num, "denominator": den,
                "has_value": int(value is not None),
                "value_frac": None if value is None else abs(value - round(value)),
                "ratio_gap": None, "yoy_change": stats.change, "history_z": stats.z,
            })
    rules, sides = consistency_rows(checked)
    return Frames(pd.DataFrame.from_records(records, columns=VALUE_COLUMNS),
                  pd.DataFrame.from_records(rules, columns=CONSISTENCY_COLUMNS), history, sides)


def consistency_rows(checked: list[Checked]) -> tuple[list[dict[str, Any]],
                                                       dict[tuple[str, str], tuple[float, float]]]:
    """Σ left and Σ right of each rule of each plan that applies, where every side is reported.

    A rule is about the county's own figures: rows of units below the county are not summed in.
    """
    records, sides = [], {}
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
                rule_id = f"{plan.code}/{rule.id}"
                sides[(item.key, rule_id)] = (left, right)
                records.append({
                    "submission_key": item.key, "source_row": own[rule.left[0]].row,
                    "indicator_code": rule.left[0], "rule_id": rule_id, "left_value": left,
                    "right_value": right, "consistency_gap": gap[rule.operator]})
    return records, sides


def add_ratio_gap(df: Any, catalog: Catalog) -> None:
    """|value − scale × 分子/分母| for ratio indicators where all three are given."""
    scale = df["indicator_code"].map(
        {c.code: c.scale for c in catalog.concepts.values() if c.aggregation == "ratio"})
    ok = scale.notna() & df["value"].notna() & df["numerator"].notna() & (df["denominator"] > 0)
    gap = (df["value"] - scale * df["numerator"] / df["denominator"]).abs()
    df["ratio_gap"] = gap.where(ok)


@cache
def gx_context(project_dir: Path | None) -> Any:
    """A file-backed GX project, once per process and directory; None keeps nothing on disk."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if project_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_suite(context: Any, suite_path: Path) -> Any:
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    data = json.loads(suite_path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name=data["name"], meta=data.get("meta"))
    for exp in data["expectations"]:
        config = ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=exp["meta"])
        suite.add_expectation_configuration(config)
    return context.suites.add_or_update(suite)


def run_expectations(df: Any, suite_names: list[str], expectations_dir: Path,
                     project_dir: Path | None, asset_name: str = "values",
                     run_name: str | None = None,
                     ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Run the named suites over ``df`` in one checkpoint; return (meta, unexpected rows) pairs."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.exceptions.resource_freshness import ResourceFreshnessAggregateError

    suites = tuple(_suite_key(expectations_dir, name) for name in suite_names)
    # run_time given explicitly: GX would otherwise try to parse the run name as a date
    run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
    try:
        result = _checkpoint(project_dir, asset_name, suites).run(
            batch_parameters={"dataframe": df}, run_id=run_id)
    except ResourceFreshnessAggregateError:  # another process saved the suites since: reload
        forget_saved()
        result = _checkpoint(project_dir, asset_name, suites).run(
            batch_parameters={"dataframe": df}, run_id=run_id)
    failures = []
    for run in result.run_results.values():
        for res in run.results:
            if res.success:
                continue
            if _raised(res.exception_info):
                # A suite that cannot run is a fault of the pipeline, never of the county's
                # file: GX reports it as a mere failure, which would let the file through.
                raise RuntimeError(f"GX expectation {res.expectation_config.type} "
                                   f"({res.expectation_config.meta.get('rule')}) could not run: "
                                   f"{_exception_text(res.exception_info)}")
            rows = res.result.get("unexpected_index_list") or []
            failures.append((dict(res.expectation_config.meta), rows))
    return failures


SuiteKey = tuple[Path, int]  # a suite file and its mtime: a regenerated suite is added again


def _suite_key(expectations_dir: Path, name: str) -> SuiteKey:
    path = expectations_dir / f"{name}.json"
    return path, path.stat().st_mtime_ns


# GX objects saved once per process and reused: saving them again gives them new ids, which
# makes every cached checkpoint that holds the old ones "not fresh".
def forget_saved(contexts: bool = False) -> None:
    """Drop the GX objects saved by this process (and its GX contexts, when asked)."""
    for cached in (_source, _suite, _definition, _checkpoint, *([gx_context] if contexts else [])):
        cached.cache_clear()


@lru_cache(maxsize=64)
def _suite(project_dir: Path | None, key: SuiteKey) -> Any:
    return _gx_suite(gx_context(project_dir), key[0])


@lru_cache(maxsize=8)
def _source(project_dir: Path | None) -> Any:
    """The datasource, saved afresh once per process: one loaded from the project's config
    gives batches without a data context. Every cached asset hangs off this one object."""
    return gx_context(project_dir).data_sources.add_or_update_pandas("submissions")


@lru_cache(maxsize=64)
def _definition(project_dir: Path | None, asset_name: str, key: SuiteKey) -> Any:
    import great_expectations as gx

    context = gx_context(project_dir)
    source = _source(project_dir)
    asset = next((a for a in source.assets if a.name == asset_name), None) or \
        source.add_dataframe_asset(asset_name)
    batch = next((b for b in asset.batch_definitions if b.name == "batch"), None) or \
        asset.add_batch_definition_whole_dataframe("batch")
    suite = _suite(project_dir, key)
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite.name}_{asset_name}", data=batch, suite=suite))


@lru_cache(maxsize=32)
def _checkpoint(project_dir: Path | None, asset_name: str, suites: tuple[SuiteKey, ...]) -> Any:
    """One checkpoint per set of suites, named after them so sets do not overwrite each other."""
    import great_expectations as gx

    definitions = [_definition(project_dir, asset_name, key) for key in suites]
    name = "+".join(key[0].stem for key in suites)
    return gx_context(project_dir).checkpoints.add_or_update(gx.Checkpoint(
        name=f"planstats_{asset_name}_{name}", validation_definitions=definitions,
        result_format={"result_format": "COMPLETE",
                       "unexpected_index_column_names": ["submission_key", "source_row"]}))


def _raised(info: Any) -> bool:
    """GX's exception info: one ExceptionInfo, or one per metric that could not be computed."""
    if not info:
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(v) for v in info.values() if isinstance(v, dict))


def _exception_text(info: Any) -> str:
    if "exception_message" in info:
        return str(info["exception_message"])
    return "; ".join(_exception_text(v) for v in info.values() if isinstance(v, dict))


def prune_results(context: Any, keep: int | None = None) -> int:
    """Keep the newest ``keep`` (default KEEP_RUNS) results per suite; return how many went."""
    keep = KEEP_RUNS if keep is None else keep
    store = context.validation_results_store
    by_suite: dict[str, list[Any]] = defaultdict(list)
    for key in store.list_keys():
        by_suite[key.expectation_suite_identifier.name].append(key)
    removed = 0
    for keys in by_suite.values():
        keys.sort(key=lambda k: k.run_id.run_time, reverse=True)
        for key in keys[keep:]:
            store.remove_key(key)
            removed += 1
    return removed


def data_docs_index(project_dir: Path) -> Path:
    return project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def build_data_docs(project_dir: Path, keep: int | None = None) -> Path:
    """Prune old results, then rebuild the site: its pages and index grow with what is kept."""
    context = gx_context(project_dir)
    prune_results(context, keep)
    context.build_data_docs()
    return data_docs_index(project_dir)


def _run_name(checked: list[Checked]) -> str:
    """Which county-years a run checked, for finding it in Data Docs."""
    names = sorted({f"{c.submission.year or 'unknown'}-{c.submission.region_code or 'unknown'}"
                    for c in checked})
    return names[0] if len(names) == 1 else f"{names[0]}+{len(names) - 1}"


def check_values(checked: list[Checked], catalog: Catalog, expectations_dir: Path,
                 project_dir: Path | None) -> None:
    """Run the suites over every submission that could be read and attach the issues."""
    from planstats.expectations import consistency_suite_name

    usable = [c for c in checked if not c.submission.fatal and c.submission.rows]
    if not usable:
        return
    add_batch_history(usable)
    data = frames(usable, catalog)
    add_ratio_gap(data.values, catalog)
    run_name = _run_name(usable)
    plans = sorted({p.code for c in usable for p in c.plans})
    failures = run_expectations(data.values, ["submission", *plans], expectations_dir,
                                project_dir, "values", run_name)
    ruled = [consistency_suite_name(code) for code in plans if catalog.plans[code].rules]
    if ruled and not data.consistency.empty:
        failures += run_expectations(data.consistency, ruled, expectations_dir, project_dir,
                                     "consistency", run_name)
    prune_results(gx_context(project_dir))  # also the in-memory store of repeated dry runs
    _attach(usable, failures, catalog, data)


def _attach(usable: list[Checked], failures: list[tuple[dict[str, Any], list[dict[str, Any]]]],
            catalog: Catalog, data: Frames) -> None:
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
            row_no = int(bad["source_row"])
            key = (item.key, meta.get("rule_id") or meta["rule"], row_no, meta["column"])
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
            facts = _facts(meta, data, item.key, row_no)
            item.issues.append(Issue(
                severity=severity, rule=meta["rule"],
                message=_message(meta, catalog.concepts.get(row.indicator_code), facts,
                                 row.note if severity == WARNING else ""),
                message_en=meta.get("rule_id") or meta["rule"].replace("_", " "),
                indicator_code=row.indicator_code or None, sheet=item.submission.data_sheet,
                row=row_no, column=row.columns.get(column), value=_plain(row.raw.get(column))))


def _facts(meta: dict[str, Any], data: Frames, key: str, row_no: int) -> dict[str, str]:
    """The numbers a rule's message quotes for one row."""
    if meta["rule"] == "consistency":
        left, right = data.sides[(key, meta["rule_id"])]
        return {"left_value": _num(left), "right_value": _num(right)}
    stats = data.history.get((key, row_no), HistoryStats())
    return {"prev": _num(stats.prev), "change": _num(stats.change, "+.1f"),
            "low": _num(stats.low), "high": _num(stats.high), "years": stats.years}


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


def _message(meta: dict[str, Any], concept: Concept | None, facts: Mapping[str, str],
             note: str = "") -> str:
    """The issue in the county's words; a warning already explained in 说明 says so."""
    from planstats.expectations import range_text, yoy_threshold

    if concept is None:  # an unknown code: its rules name no concept
        return meta["message"] + meta["fix"]
    text = meta["message"].format(
        name=concept.name, unit=concept.unit, range=range_text(concept),
        numerator=concept.numerator, denominator=concept.denominator, weight=concept.weight,
        scale=f"{concept.scale or 1:g}", threshold=f"{yoy_threshold(concept):g}", **facts)
    if note:
        return text + f"已在“说明”列说明：“{note}”，标为“已说明”，由审核人核实。"
    return text + meta["fix"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value)):
        return None
    return value if value != "" else None
