"""Data-quality analysis for reviewers: county values far from their peers or from their past.

Per indicator and year, each county's current value is compared with

- the counties of its city, and all counties of the province, by the modified z-score
  M = 0.6745 (x − median) / MAD (Iglewicz and Hoaglin, *How to Detect and Handle Outliers*,
  1993; |M| > 3.5 is their threshold). When more than half the peers report the same value
  MAD is 0; then M = (x − median) / (1.253314 × mean absolute deviation), as IBM Cognos
  Analytics defines it. A group needs a minimum number of reporting counties, and a value
  must also differ from the median by more than the indicator's change threshold (30 % unless
  the catalog says otherwise: the same tolerance as a change on last year);
- its own past years: outside mean ± 3 sd of them, the range the intake warns about
  (``validate.history_stats``), which is DHIS2's min–max outlier analysis learned from history.

These are warnings for a reviewer to look at, never rejections: nothing is written anywhere.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from planstats import clock
from planstats.catalog import Catalog, Indicator, Plan, required_indicators
from planstats.expectations import HISTORY_SIGMA, yoy_threshold
from planstats.regions import RegionTree
from planstats.warehouse import Warehouse

CITY_PEERS, PROVINCE_PEERS, HISTORY_RANGE = "city_peers", "province_peers", "history_range"
METHOD_LABELS = {CITY_PEERS: "与同市（州）各县比较", PROVINCE_PEERS: "与全省各县比较",
                 HISTORY_RANGE: "与本县往年比较"}
THRESHOLD = 3.5  # Iglewicz and Hoaglin's cut-off for |M|
MIN_PEERS = 5  # reporting counties a group needs, the county itself included
MAD_SCALE = 0.6745  # MAD ÷ 0.6745 estimates the standard deviation of normal data
MEAN_AD_SCALE = 1.253314  # so does 1.253314 × the mean absolute deviation
COUNTY_LEVEL = "county"
ROW_FIELDS = ("region_code", "indicator_code", "plan_code", "year", "value", "unit", "method",
              "score", "peer_median", "reason")


@dataclass(frozen=True)
class QualityRow:
    """One value a reviewer should look at, and why."""

    region_code: str
    indicator_code: str
    plan_code: str | None
    year: int
    value: float
    method: str
    score: float  # how far out, in (robust) standard deviations, signed; sorted by its size
    peer_median: float | None  # of the group compared with: peers, or the county's past years
    reason: str
    peers: int = 0  # counties (or past years) in that group
    note: str | None = None  # what the county wrote in 说明
    unit: str = ""  # of value and peer_median: the unit the row's plan states the indicator in

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("value", "score", "peer_median"):
            if out[key] is not None:
                out[key] = round(out[key], 6)
        return out


@dataclass(frozen=True)
class Spread:
    """Centre and robust scale of a group: a value's score is (x − median) / scale."""

    median: float
    scale: float
    n: int

    def score(self, value: float) -> float:
        return (value - self.median) / self.scale


def spread(values: list[float]) -> Spread | None:
    """Median and MAD-based scale; None when every value is the same (nothing stands out)."""
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return Spread(median, mad / MAD_SCALE, len(values))
    mean_ad = statistics.fmean(deviations)
    if mean_ad == 0:
        return None
    return Spread(median, MEAN_AD_SCALE * mean_ad, len(values))


@dataclass(frozen=True)
class Value:
    region_code: str
    city_code: str
    indicator_code: str
    year: int
    value: float
    note: str | None


def _num(value: float) -> str:
    return f"{round(value, 4):.12g}"


def _peer_reason(label: str, value: float, group: Spread, score: float, threshold: float,
                 factor: float = 1.0) -> str:
    """Why a value stands out; the median quoted as ``factor`` × the stored unit."""
    side = "高于" if score > 0 else "低于"
    times = ""
    if value * group.median > 0:  # a ratio says "ten times" where both have the same sign
        times = f"，是中位数的 {value / group.median:.1f} 倍"
    return (f"{label}（{group.n} 个县报送）明显{side}同类：中位数 {_num(group.median * factor)}"
            f"{times}；修正Z值 {score:+.1f}，超过 ±{threshold:g}。")


def peer_outliers(values: list[Value], min_gap: Mapping[str, float],
                  threshold: float = THRESHOLD, min_peers: int = MIN_PEERS,
                  factors: Mapping[tuple[str, str], float] | None = None,
                  ) -> list[tuple[Value, str, float, Spread, str]]:
    """(value, method, score, group, reason) of every value beyond ``threshold`` in its city or
    the province; groups with fewer than ``min_peers`` reporting counties are not judged.

    A value is listed only when it also differs from the median by more than ``min_gap`` of its
    indicator (a fraction of the median): where peers cluster, as rates near 100 % do, MAD is
    tiny and |M| is large for differences nobody would call suspicious. Values are compared
    in the stored (concept) unit; ``factors`` ((county, indicator) → plan unit ÷ stored unit)
    only change how a reason quotes them.
    """
    groups: dict[tuple[str, str], list[Value]] = defaultdict(list)
    for v in values:
        groups[(CITY_PEERS, f"{v.indicator_code}/{v.city_code}")].append(v)
        groups[(PROVINCE_PEERS, v.indicator_code)].append(v)
    out = []
    for (method, _), members in groups.items():
        if len(members) < min_peers:
            continue
        group = spread([m.value for m in members])
        if group is None:
            continue
        for m in members:
            score = group.score(m.value)
            material = abs(m.value - group.median) > min_gap.get(m.indicator_code, 0) * abs(
                group.median)
            if abs(score) > threshold and material:
                factor = (factors or {}).get((m.region_code, m.indicator_code), 1.0)
                reason = _peer_reason(METHOD_LABELS[method], m.value, group, score, threshold,
                                      factor)
                out.append((m, method, score, group, reason))
    return out


def history_outliers(values: list[Value], past: Mapping[tuple[str, str], dict[int, float]],
                     catalog: Catalog, factors: Mapping[tuple[str, str], float] | None = None,
                     ) -> list[tuple[Value, float, float, int, str]]:
    """(value, score, median of past years, years, reason) of values outside their history;
    the reason quotes the range in the plan's unit (``factors`` as in ``peer_outliers``)."""
    from planstats.validate import history_stats

    out = []
    for v in values:
        prior = {y: x for y, x in past.get((v.region_code, v.indicator_code), {}).items()
                 if y < v.year}
        stats = history_stats(v.value, prior, v.year, catalog.concepts.get(v.indicator_code))
        if stats.z is None or abs(stats.z) <= HISTORY_SIGMA:
            continue
        side = "高于" if stats.z > 0 else "低于"
        factor = (factors or {}).get((v.region_code, v.indicator_code), 1.0)
        reason = (f"{side}本县往年（{stats.years}）的正常范围 "
                  f"{_num((stats.low or 0) * factor)}～{_num((stats.high or 0) * factor)}"
                  f"（均值±{HISTORY_SIGMA:g}倍标准差），偏离 {stats.z:+.1f} 倍标准差。")
        out.append((v, stats.z, statistics.median(prior.values()), len(prior), reason))
    return out


def _asked(catalog: Catalog, regions: RegionTree, year: int,
           plan: Plan | None) -> dict[tuple[str, str], tuple[str, Indicator]]:
    """(county, indicator) → the plan that asks it of the county (the most local one), and
    the indicator as that plan states it."""
    if plan is not None and not plan.covers_year(year):
        return {}
    top = plan.region_code if plan else regions.root
    out: dict[tuple[str, str], tuple[str, Indicator]] = {}
    for county in regions.counties_under(top):
        plans = [plan] if plan else catalog.plans_for(regions.ancestors(county), year)
        for code, uses in required_indicators(plans, county).items():
            out[(county, code)] = (uses[0][0].code, uses[0][1])
    return out


def analyse(wh: Warehouse, catalog: Catalog, regions: RegionTree, year: int,
            plan: Plan | None = None, threshold: float = THRESHOLD,
            min_peers: int = MIN_PEERS, as_of: datetime | None = None) -> list[QualityRow]:
    """The year's values a reviewer should look at, furthest out first; of the data as it
    stood at ``as_of`` when given."""
    asked = _asked(catalog, regions, year, plan)
    # peers are grouped by indicator, so the indicators nobody is asked need not be judged
    codes = {code for _, code in asked}
    past: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    current = []
    for r in wh.rows("quality/county_values", year=year, level=COUNTY_LEVEL,
                     past=int(as_of is not None), as_of=as_of or clock.now()):
        if r["indicator_code"] not in codes:
            continue
        v = Value(r["region_code"], r["city_code"], r["indicator_code"], int(r["year"]),
                  float(r["value"]), r["note"])
        if v.year == year:
            current.append(v)
        else:
            past[(v.region_code, v.indicator_code)][v.year] = v.value
    min_gap = {c.code: yoy_threshold(c) / 100 for c in catalog.concepts.values()}
    factors = {key: ind.stat_factor for key, (_, ind) in asked.items() if ind.stat_factor != 1}
    out = []
    for v, method, score, group, reason in peer_outliers(current, min_gap, threshold, min_peers,
                                                         factors):
        if (v.region_code, v.indicator_code) in asked:
            out.append(_row(v, asked, method, score, group.median, group.n, reason))
    for v, score, median, years, reason in history_outliers(current, past, catalog, factors):
        if (v.region_code, v.indicator_code) in asked:
            out.append(_row(v, asked, HISTORY_RANGE, score, median, years, reason))
    return sort_rows(out)


def _row(v: Value, asked: Mapping[tuple[str, str], tuple[str, Indicator]], method: str,
         score: float, median: float | None, peers: int, reason: str) -> QualityRow:
    """The row in its plan's unit: value and median × the plan's factor (score has no unit)."""
    plan_code, ind = asked[(v.region_code, v.indicator_code)]
    factor = ind.stat_factor
    return QualityRow(v.region_code, v.indicator_code, plan_code, v.year, v.value * factor,
                      method, score, None if median is None else median * factor, reason,
                      peers, v.note, ind.stat_unit)


def sort_rows(rows: Iterable[QualityRow]) -> list[QualityRow]:
    return sorted(rows, key=lambda r: (-abs(r.score), r.region_code, r.indicator_code, r.method))
