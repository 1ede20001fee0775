"""Checking submissions: structure in Python, values with Great Expectations.

Structure (region, year, ownership, template version, the table itself) must hold before the
values can be checked at all. Values are checked by the suites under include/expectations, run
once over every submission of a batch and split back per file and cell.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from planstats.catalog import Catalog, Plan, required_indicators, template_version
from planstats.intake import Submission
from planstats.issues import ERROR, WARNING, Issue, status_of
from planstats.regions import RegionTree

COLUMN_NAMES = {"value": "本年值", "value_frac": "本年值", "ratio_gap": "本年值",
                "numerator": "分子", "denominator": "分母", "indicator_code": "指标代码",
                "region_code": "行政区划代码"}


@dataclass
class Checked:
    """A submission with everything found wrong with it, ready to load or to send back."""

    submission: Submission
    plans: list[Plan] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

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
    """Region, year, ownership, template version and indicator rows; returns the plans that apply."""
    info_row = {k: int(v) for k, v in sub.info.items() if k.endswith("@row")}
    region = sub.info.get("行政区划代码", "")
    where = {"sheet": "填报信息" if sub.kind == "xlsx" else sub.data_sheet,
             "row": info_row.get("行政区划代码@row"), "column": "B" if sub.kind == "xlsx" else None}
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
            sub.fail("ownership", f"行政区划代码“{unit}”不属于“{regions.name(region)}”，整个文件不予接收。",
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
        sub.fail("year_out_of_period", f"{year} 年不在适用于“{regions.name(region)}”的任何规划期内。",
                 f"no plan covers {region} in {year}", value=year, **year_where)
        return []
    sub.template_version = sub.info.get("模板版本") or None
    current = template_version(c for c in _required_concepts(catalog, plans, region))
    if sub.kind == "xlsx" and sub.template_version != current:
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


def frame(checked: list[Checked]):  # noqa: ANN201 - pandas.DataFrame, imported lazily
    """One long table of every value of every submission, with the columns the suites check."""
    import pandas as pd

    records = []
    for item in checked:
        sub = item.submission
        for row in sub.rows:
            value, num, den = row.value, row.numerator, row.denominator
            records.append({
                "submission_key": item.key, "source_row": row.row,
                "region_code": row.region_code or sub.region_code,
                "indicator_code": row.indicator_code,
                "value": value, "numerator": num, "denominator": den,
                "has_value": int(value is not None),
                "value_frac": None if value is None else abs(value - round(value)),
                "ratio_gap": None,
            })
    return pd.DataFrame.from_records(records, columns=[
        "submission_key", "source_row", "region_code", "indicator_code", "value", "numerator",
        "denominator", "has_value", "value_frac", "ratio_gap"])


def add_ratio_gap(df: Any, catalog: Catalog) -> None:
    """|value − scale × 分子/分母| for ratio indicators where all three are given."""
    scale = df["indicator_code"].map(
        {c.code: c.scale for c in catalog.concepts.values() if c.aggregation == "ratio"})
    ok = scale.notna() & df["value"].notna() & df["numerator"].notna() & (df["denominator"] > 0)
    gap = (df["value"] - scale * df["numerator"] / df["denominator"]).abs()
    df["ratio_gap"] = gap.where(ok)


@cache
def gx_context(project_dir: Path | None):  # noqa: ANN201 - a great_expectations context
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
                     project_dir: Path | None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Run the named suites over ``df`` in one checkpoint; return (meta, unexpected rows) pairs."""
    import great_expectations as gx

    context = gx_context(project_dir)
    source = context.data_sources.add_or_update_pandas("submissions")
    asset = next((a for a in source.assets if a.name == "values"), None) or \
        source.add_dataframe_asset("values")
    batch = next((b for b in asset.batch_definitions if b.name == "batch"), None) or \
        asset.add_batch_definition_whole_dataframe("batch")
    definitions = []
    for name in suite_names:
        suite = _gx_suite(context, expectations_dir / f"{name}.json")
        definitions.append(context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{name}_values", data=batch, suite=suite)))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name="planstats_checkpoint", validation_definitions=definitions,
        result_format={"result_format": "COMPLETE",
                       "unexpected_index_column_names": ["submission_key", "source_row"]}))
    result = checkpoint.run(batch_parameters={"dataframe": df})
    failures = []
    for run in result.run_results.values():
        for res in run.results:
            if res.success:
                continue
            rows = res.result.get("unexpected_index_list") or []
            failures.append((dict(res.expectation_config.meta), rows))
    return failures


def build_data_docs(project_dir: Path) -> Path:
    context = gx_context(project_dir)
    context.build_data_docs()
    return project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def check_values(checked: list[Checked], catalog: Catalog, expectations_dir: Path,
                 project_dir: Path | None) -> None:
    """Run the suites over every submission that could be read and attach the issues."""
    usable = [c for c in checked if not c.submission.fatal and c.submission.rows]
    if not usable:
        return
    df = frame(usable)
    add_ratio_gap(df, catalog)
    suites = ["submission"] + sorted({p.code for c in usable for p in c.plans})
    by_key = {c.key: c for c in usable}
    seen: set[tuple[str, str, int, str | None]] = set()
    bad_cells = {c.key: {(i.row, _column_name(c, i.column)) for i in c.issues if i.row}
                 for c in usable}
    for meta, rows in run_expectations(df, suites, expectations_dir, project_dir):
        column = COLUMN_NAMES[meta["column"]]
        for bad in rows:
            item = by_key.get(bad.get("submission_key"))
            if item is None:
                continue
            row_no = int(bad["source_row"])
            key = (item.key, meta["rule"], row_no, meta["column"])
            if key in seen:
                continue
            seen.add(key)
            row = next(r for r in item.submission.rows if r.row == row_no)
            if (row_no, column) in bad_cells[item.key]:
                continue  # the cell already has an error from reading it
            value = row.raw.get(column)
            concept = catalog.concepts[row.indicator_code]
            item.issues.append(Issue(
                severity=ERROR if meta["severity"] == "error" else WARNING,
                rule=meta["rule"], message=_message(meta, concept),
                message_en=meta["rule"].replace("_", " "),
                indicator_code=row.indicator_code or None, sheet=item.submission.data_sheet,
                row=row_no, column=row.columns.get(column), value=_plain(value)))


def _column_name(checked: Checked, letter: str | None) -> str | None:
    rows = checked.submission.rows
    names = rows[0].columns if rows else {}
    return next((name for name, col in names.items() if col == letter), None)


def _message(meta: dict[str, Any], concept: Any) -> str:
    from planstats.expectations import range_text

    text = meta["message"].format(
        name=concept.name, unit=concept.unit, range=range_text(concept),
        numerator=concept.numerator, denominator=concept.denominator, weight=concept.weight,
        scale=f"{concept.scale or 1:g}")
    return text + meta["fix"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value)):
        return None
    return value if value != "" else None
