"""The 规划指标年度统计 roll-up: computed in the warehouse by include/sql/rollup, read back here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection

from planstats import clock
from planstats.catalog import Plan
from planstats.regions import RegionTree
from planstats.warehouse import Warehouse

ROW_FIELDS = ("plan_code", "region_code", "indicator_code", "year", "value", "numerator",
              "denominator", "target", "comparator", "status", "completion_rate",
              "reporting_regions", "expected_regions")
_DICT_FIELDS = (*ROW_FIELDS, "unit", "expected_value", "on_track", "basis")  # then missing
_ROUNDED = ("value", "numerator", "denominator", "completion_rate", "expected_value")
_dict_values = attrgetter(*_DICT_FIELDS)  # in one C call: to_dict runs for every published row


@dataclass(frozen=True, slots=True)
class StatRow:
    """One indicator at one region in one year, against the plan's target."""

    plan_code: str
    region_code: str
    indicator_code: str
    year: int
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float
    comparator: str
    status: str
    completion_rate: float | None
    reporting_regions: int
    expected_regions: int
    direct: bool
    expected_value: float | None
    on_track: bool | None
    basis: str = "accepted"
    missing_regions: tuple[str, ...] = ()
    unit: str = ""  # of value and target: the plan's (the concept's for an assess_as reading)

    def to_dict(self) -> dict[str, Any]:
        out = dict(zip(_DICT_FIELDS, _dict_values(self), strict=True))
        for key in _ROUNDED:
            if out[key] is not None:
                out[key] = round(out[key], 6)
        out["missing_regions"] = list(self.missing_regions)
        return out


# accepted: every accepted submission; approved: approved at city level (county submissions);
# approved_city / approved_prov: also the city's / province's figures approved above it
BASES = ("accepted", "approved", "approved_city", "approved_prov")
BASIS_LABELS = {"accepted": "全部已接收数据", "approved": "仅已审核通过数据",
                "approved_city": "仅市（州）级已审定数据", "approved_prov": "仅省级已审定数据"}
BASIS_SUFFIXES = {"accepted": "", "approved": "_已审核", "approved_city": "_市级审定",
                  "approved_prov": "_省级审定"}  # in published file names


def compute(wh: Warehouse, plan: Plan, year: int, basis: str = "accepted") -> int:
    """Publish the plan's statistics for the year (agg_indicator_value, agg_completeness).

    ``basis`` 'accepted' uses every region's current accepted submission; 'approved' only what
    reviewers approved, 'approved_city' / 'approved_prov' only where the city's / the
    province's figures are approved too (rollup.BASES). The only way the published tables
    change. Returns the row count.
    """
    with wh.engine.begin() as conn:
        return _materialise(wh, conn, plan, year, basis, None)


@contextmanager
def as_of(wh: Warehouse, plan: Plan, year: int, when: datetime) -> Iterator[Connection]:
    """The statistics as the data stood at ``when``, for the reader only.

    Computed inside a transaction that is always rolled back: read them on the connection
    yielded (``read``, ``completeness``, ``trend`` take it); the published tables never change.
    """
    with wh.engine.connect() as conn:
        transaction = conn.begin()
        try:
            _materialise(wh, conn, plan, year, "accepted", when)
            yield conn
        finally:
            transaction.rollback()


def _materialise(wh: Warehouse, conn: Connection, plan: Plan, year: int, basis: str,
                 when: datetime | None) -> int:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}")
    stamp = clock.now()
    past = {"past": int(when is not None), "as_of": when or stamp}
    key = {"plan_code": plan.code, "year": year, "basis": basis}
    wh.run(conn, "rollup/delete_agg_indicator_value", key)
    wh.run(conn, "rollup/agg_indicator_value", {**key, "computed_at": stamp, **past})
    wh.run(conn, "rollup/delete_agg_completeness", {"plan_code": plan.code, "year": year})
    wh.run(conn, "rollup/agg_completeness", {
        "plan_code": plan.code, "year": year, "due_at": due_at(plan, year),
        "computed_at": stamp, **past})
    return wh.run(conn, "rollup/count_agg_indicator_value", key).scalar_one()


def due_at(plan: Plan, year: int) -> datetime:
    """End of the plan's deadline day (Beijing time) in the following year."""
    month, day = (int(x) for x in plan.deadline.split("-"))
    return datetime(year + 1, month, day, 23, 59, 59, tzinfo=clock.BEIJING).astimezone(UTC)


@dataclass(frozen=True)
class Completeness:
    """Which counties of a plan's tree reported a year, and on time."""

    rows: list[dict[str, Any]]

    @property
    def expected(self) -> int:
        return len(self.rows)

    @property
    def received(self) -> int:
        return sum(r["received"] for r in self.rows)

    @property
    def on_time(self) -> int:
        return sum(r["on_time"] for r in self.rows)

    @property
    def partial(self) -> int:
        """Counties that reported fewer of the plan's values than asked."""
        return sum(bool(r["received"]) and r["values_reported"] < r["values_asked"]
                   for r in self.rows)

    @property
    def missing(self) -> list[str]:
        return [r["region_code"] for r in self.rows if not r["received"]]


def completeness(wh: Warehouse, plan: Plan, year: int,
                 conn: Connection | None = None) -> Completeness:
    return Completeness(wh.rows("report/agg_completeness", conn=conn, plan_code=plan.code,
                                year=year))


def trend(wh: Warehouse, plan: Plan, region_code: str, basis: str = "accepted",
          conn: Connection | None = None) -> dict[str, dict[int, dict[str, Any]]]:
    """indicator → year → {value, status, …} for every year computed so far."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for r in wh.rows("report/agg_trend", conn=conn, plan_code=plan.code,
                     region_code=region_code, basis=basis):
        out.setdefault(r["indicator_code"], {})[r["year"]] = r
    return out


def read(wh: Warehouse, plan: Plan, year: int, regions: RegionTree, basis: str = "accepted",
         conn: Connection | None = None) -> list[StatRow]:
    """The materialised rows, plan owner first, then down the tree, in the plan's order."""
    order = {code: i for i, code in enumerate(regions.descendants(plan.region_code))}
    seq = {ind.code: ind.seq for ind in plan.indicators}
    units = {ind.code: ind.stat_unit for ind in plan.indicators}
    rows = [
        StatRow(
            plan_code=r["plan_code"], region_code=r["region_code"],
            indicator_code=r["indicator_code"], year=r["year"], value=r["value"],
            numerator=r["numerator"], denominator=r["denominator"], target=r["target"],
            comparator=r["comparator"], status=r["status"], completion_rate=r["completion_rate"],
            reporting_regions=r["reporting_regions"], expected_regions=r["expected_regions"],
            direct=bool(r["direct"]), expected_value=r["expected_value"],
            on_track=None if r["on_track"] is None else bool(r["on_track"]),
            basis=r["basis"], unit=units[r["indicator_code"]],
        )
        for r in wh.stream("report/agg_indicator_value", conn=conn, plan_code=plan.code,
                           year=year, basis=basis)
    ]
    rows = _with_missing(rows, regions)
    return sorted(rows, key=lambda r: (order.get(r.region_code, len(order)), seq[r.indicator_code]))


def _with_missing(rows: list[StatRow], regions: RegionTree) -> list[StatRow]:
    """Name, on every row above county level, the counties below it that did not report."""
    silent: dict[str, set[str]] = {}
    for r in rows:
        county = r.region_code in regions and regions[r.region_code].level == "county"
        if r.value is None and county:
            silent.setdefault(r.indicator_code, set()).add(r.region_code)
    out = []
    for r in rows:
        if r.region_code in regions and regions[r.region_code].level in ("province", "city"):
            missing = tuple(c for c in regions.counties_under(r.region_code)
                            if c in silent.get(r.indicator_code, ()))
            r = replace(r, missing_regions=missing)
        out.append(r)
    return out
