"""What each workspace page shows, read from the warehouse; no web framework here.

Every function takes the pipeline Context and returns plain dicts for a template or for JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from planstats import clock, pipeline, review
from planstats.catalog import Plan
from planstats.catalog_view import AGGREGATION_TEXT
from planstats.publish import STATUS_LABELS
from planstats.review.states import OPEN
from planstats.rollup import BASES, BASIS_LABELS
from planstats.settings import Settings

MISSING, REJECTED_ONLY = "missing", "rejected_only"
# a county's state in a year: nothing received, only files that failed the checks, or the
# review state of its current submission
COUNTY_STATES = {MISSING: "未报送", REJECTED_ONLY: "文件未通过", **review.LABELS}
LEVEL_LABELS = {"province": "省", "city": "市（州）", "county": "县（市、区）",
                "town": "乡镇（街道）", "community": "社区"}
FIGURE_STATUSES = ("达标", "未达标", "缺报")
DOWNLOAD_KINDS = {"original": "原始文件", "report": "审核报告", "annotated": "批注文件"}


def context() -> pipeline.Context:
    """One pipeline context per process and settings: catalog and regions are read once."""
    return _context(Settings.from_env().model_dump_json())


@cache
def _context(_settings: str) -> pipeline.Context:
    return pipeline.context()


class NotFound(LookupError):
    """A page asked for something the warehouse or catalog does not hold."""


def beijing(stamp: datetime | str | None) -> str:
    """An instant as Beijing time for people to read (the column header names the zone)."""
    return clock.beijing(stamp, zone=False)


def years(ctx: pipeline.Context) -> list[int]:
    """Years a reviewer can pick: every year of a plan's period, newest first."""
    found = {y for p in ctx.catalog.plans.values()
             for y in range(p.period_start, p.period_end + 1)}
    found |= {r["year"] for r in ctx.warehouse.rows("web/submission_years")}
    return sorted(found, reverse=True)


def default_year(ctx: pipeline.Context) -> int:
    """The newest year with submissions, else the last full calendar year."""
    rows = ctx.warehouse.rows("web/submission_years")
    return rows[0]["year"] if rows else clock.now().astimezone(clock.BEIJING).year - 1


def plan_of(ctx: pipeline.Context, code: str) -> Plan:
    if code not in ctx.catalog.plans:
        raise NotFound(f"没有规划 {code}")
    return ctx.catalog.plans[code]


def _county_state(versions: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    current = next((v for v in versions if v["is_current"]), None)
    if current is not None:
        return current["review_status"], current
    return (REJECTED_ONLY if versions else MISSING), None


def overview(ctx: pipeline.Context, year: int, basis: str = "accepted") -> dict[str, Any]:
    """年度总览: plans in period with status counts and completeness, and every county's state."""
    wh = ctx.warehouse
    by_region: dict[str, list[dict[str, Any]]] = {}
    for row in wh.rows("report/submissions_of_year", year=year):
        by_region.setdefault(row["region_code"], []).append(row)
    completeness: dict[str, list[dict[str, Any]]] = {}
    on_time: dict[str, bool] = {}
    for row in wh.rows("web/completeness_of_year", year=year):
        completeness.setdefault(row["plan_code"], []).append(row)
        if row["received"]:
            on_time[row["region_code"]] = on_time.get(row["region_code"], False) or bool(
                row["on_time"])
    plans = []
    for code in pipeline.plans_of_year(year, ctx):
        plan = ctx.catalog.plan(code)
        rows = completeness.get(code, [])
        counts = {r["status"]: r["indicators"] for r in wh.rows(
            "web/plan_status_counts", plan_code=code, year=year, basis=basis,
            region_code=plan.region_code)}
        plans.append({
            "code": code, "name": plan.name, "region_code": plan.region_code,
            "region_name": ctx.regions.name(plan.region_code),
            "period": f"{plan.period_start}–{plan.period_end}",
            "indicators": len(plan.indicators), "computed": bool(counts),
            "counts": {s: counts.get(s, 0) for s in FIGURE_STATUSES},
            "expected": len(rows), "received": sum(bool(r["received"]) for r in rows),
            "on_time": sum(bool(r["on_time"]) for r in rows),
        })
    approvals = {a["region_code"]: a for a in pipeline.review_approvals(year, ctx)}
    cities, totals = [], dict.fromkeys(COUNTY_STATES, 0)
    for city, counties in pipeline.reporting_units(year, ctx).items():
        cells = []
        for county in counties:
            state, current = _county_state(by_region.get(county, []))
            totals[state] += 1
            cells.append({"code": county, "name": ctx.regions.name(county), "state": state,
                          "label": COUNTY_STATES[state], "files": len(by_region.get(county, [])),
                          "on_time": on_time.get(county),
                          "submission_id": current["submission_id"] if current else None})
        cities.append({"code": city, "name": ctx.regions.name(city), "counties": cells,
                       "approval": approvals.get(city)})
    return {"year": year, "basis": basis, "plans": plans, "cities": cities,
            "totals": totals, "expected": sum(len(c["counties"]) for c in cities),
            "province": approvals.get("510000")}


def _version_label(row: dict[str, Any]) -> str:
    if row["status"] == "rejected":
        return "未通过校验"
    return "当前版本" if row["is_current"] else "已被新版本替代"


def county_versions(ctx: pipeline.Context, year: int,
                    region_code: str | None = None) -> list[dict[str, Any]]:
    """报送: every version each county sent in the year, newest first, grouped by county."""
    groups: dict[str, dict[str, Any]] = {}
    for row in pipeline.review_list(year, ctx=ctx):
        if region_code and not ctx.regions.is_within(row["region_code"], region_code):
            continue
        group = groups.setdefault(row["region_code"], {
            "region_code": row["region_code"],
            "region_name": row["region_name"] or ctx.regions.name(row["region_code"]),
            "versions": []})
        group["versions"].append({**row, "version": _version_label(row),
                                  "status_label": STATUS_LABELS.get(row["status"], row["status"])})
    for group in groups.values():
        group["versions"].sort(key=lambda r: r["processed_at"], reverse=True)
        group["state"], _ = _county_state(group["versions"])
        group["state_label"] = COUNTY_STATES[group["state"]]
    return list(groups.values())


def submission_detail(ctx: pipeline.Context, submission_id: str) -> dict[str, Any]:
    """One version: its review state and history, its values with their cells, its files."""
    from planstats.web import files

    try:
        detail = pipeline.review_show(submission_id, ctx)
    except review.ReviewError as exc:
        raise NotFound(str(exc)) from None
    values = []
    for row in ctx.warehouse.rows("web/submission_values", submission_id=submission_id):
        concept = ctx.catalog.concepts.get(row["indicator_code"])
        values.append({**row, "name": concept.name if concept else row["indicator_code"],
                       "unit": concept.unit if concept else ""})
    available = files.available(ctx, submission_id)
    return {**detail, "region_name": ctx.regions.name(detail["region_code"]),
            "status_label": STATUS_LABELS.get(detail["status"], detail["status"]),
            "version": _version_label(detail), "values": values,
            "downloads": [(kind, DOWNLOAD_KINDS[kind]) for kind in DOWNLOAD_KINDS
                          if kind in available]}


@dataclass(frozen=True)
class Crumb:
    code: str
    name: str


def _figure(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    ind = plan.indicator(row["indicator_code"])
    return {**row, "seq": ind.seq, "name": ind.name, "unit": ind.concept.unit,
            "category": ind.category, "target_text": ind.target_text, "attribute": ind.attribute,
            "missing": row["expected_regions"] - row["reporting_regions"]}


def statistics(ctx: pipeline.Context, plan_code: str, year: int, region_code: str | None = None,
               basis: str = "accepted") -> dict[str, Any]:
    """统计: one plan's figures at a region, and each child region's standing, to drill into."""
    plan = plan_of(ctx, plan_code)
    region_code = region_code or plan.region_code
    if basis not in BASES:
        raise NotFound(f"没有数据基准 {basis}")
    if region_code not in ctx.regions or not ctx.regions.is_within(region_code, plan.region_code):
        raise NotFound(f"{region_code} 不在规划 {plan.name} 的范围内")
    rows = ctx.warehouse.rows("web/region_statistics", plan_code=plan_code, year=year,
                              basis=basis, region_code=region_code)
    order = {ind.code: ind.seq for ind in plan.indicators}
    own = sorted((_figure(plan, r) for r in rows if r["region_code"] == region_code),
                 key=lambda r: order[r["indicator_code"]])
    children: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["region_code"] == region_code:
            continue
        child = children.setdefault(r["region_code"], {
            "code": r["region_code"], "name": r["region_name"],
            "level": LEVEL_LABELS.get(r["level"], r["level"]),
            "counts": dict.fromkeys(FIGURE_STATUSES, 0)})
        child["counts"][r["status"]] += 1
    chain = ctx.regions.ancestors(region_code)
    crumbs = [Crumb(c, ctx.regions.name(c))
              for c in reversed(chain[:chain.index(plan.region_code) + 1])]
    return {"plan": plan, "year": year, "basis": basis, "basis_label": BASIS_LABELS[basis],
            "region_code": region_code, "region_name": ctx.regions.name(region_code),
            "crumbs": crumbs, "figures": own, "children": list(children.values()),
            "computed_at": own[0]["computed_at"] if own else None,
            "counts": {s: sum(f["status"] == s for f in own) for s in FIGURE_STATUSES}}


def value_sources(ctx: pipeline.Context, plan_code: str, year: int, region_code: str,
                  indicator_code: str, basis: str = "accepted") -> dict[str, Any]:
    """Where one published figure came from: the cells summed and the counties missing."""
    page = statistics(ctx, plan_code, year, region_code, basis)
    figure = next((f for f in page["figures"] if f["indicator_code"] == indicator_code), None)
    if figure is None:
        raise NotFound(f"{region_code} 在 {year} 年没有指标 {indicator_code} 的统计结果")
    # stored in the concept's unit; the figure is in the unit the plan states (plans as printed)
    factor = ctx.catalog.plan(plan_code).indicator(indicator_code).stat_factor
    sources = [{**row, "value": None if row["value"] is None else row["value"] * factor}
               for row in ctx.warehouse.rows("web/value_sources", year=year, basis=basis,
                                             region_code=region_code, past=0, as_of=None,
                                             indicator_code=indicator_code)]
    missing = ctx.warehouse.rows("web/missing_counties", plan_code=plan_code, year=year,
                                 basis=basis, region_code=region_code,
                                 indicator_code=indicator_code)
    counted = [s for s in sources if s["counted"]]
    concept = ctx.catalog.concepts[indicator_code]
    return {**page, "figure": figure, "sources": sources, "missing": missing,
            "aggregation": concept.aggregation,
            "aggregation_text": AGGREGATION_TEXT.get(concept.aggregation, concept.aggregation),
            "counted": len(counted),
            "sum_numerator": _total(counted, "numerator"),
            "sum_denominator": _total(counted, "denominator"),
            "sum_value": _total(counted, "value")}


def _total(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) if values else None


def queue(ctx: pipeline.Context, year: int, reviewer: review.Reviewer) -> list[dict[str, Any]]:
    """审核: submissions and regions awaiting this reviewer's decision in the year."""
    return [{**row, "review_label": review.LABELS.get(row.get("review_status") or "", ""),
             "level_label": LEVEL_LABELS.get(row.get("level") or "", "")}
            for row in pipeline.review_queue(year, reviewer, ctx)]


def follow_ups(ctx: pipeline.Context, year: int) -> list[dict[str, Any]]:
    """待核实: the year's follow-up marks, open ones first."""
    return sorted(pipeline.review_follow_ups(year, ctx=ctx), key=lambda r: r["state"] != OPEN)


def statistics_downloads(ctx: pipeline.Context, year: int) -> list[dict[str, Any]]:
    """The published workbooks/CSV of the year that exist, by plan and basis."""
    from planstats.publish import statistics_paths

    out = []
    for code in pipeline.plans_of_year(year, ctx):
        plan = ctx.catalog.plan(code)
        for basis in BASES:
            paths = statistics_paths(plan, year, ctx.settings.publish / str(year), basis)
            kinds = [k for k in ("xlsx", "csv") if paths[k].is_file()]
            if kinds:
                out.append({"plan_code": code, "plan_name": plan.name, "basis": basis,
                            "basis_label": BASIS_LABELS[basis], "kinds": kinds})
    return out

