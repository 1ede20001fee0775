"""The 规划指标年度统计 roll-up: computed in the warehouse by include/sql/rollup, read back here."""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from itertools import compress, count, repeat
from operator import add, attrgetter, is_, itemgetter, mul
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


# The columns of report/agg_indicator_value as a StatTable holds them: one plain tuple a row,
# values as the driver returns them (direct and on_track 0/1 on SQLite). Plan, year and basis,
# the same on every row of a read, are not read per row (StatTable.fixed).
TABLE_FIELDS = ("region_code", "indicator_code", "value", "numerator", "denominator", "direct",
                "reporting_regions", "expected_regions", "target", "comparator", "status",
                "completion_rate", "expected_value", "on_track")
_COLUMN = {name: i for i, name in enumerate(TABLE_FIELDS)}
_REGION, _INDICATOR, _VALUE = _COLUMN["region_code"], _COLUMN["indicator_code"], _COLUMN["value"]


class _Bool(dict):
    """A 0/1 column (an integer on SQLite and PostgreSQL) as bool, in one C lookup a value."""

    def __missing__(self, key: Any) -> bool:
        return bool(key)


class _Truth(dict):
    """The same for a nullable column: None stays None."""

    def __missing__(self, key: Any) -> bool | None:
        return None if key is None else bool(key)


_BOOL, _TRUTH = _Bool({0: False, 1: True}), _Truth({None: None, 0: False, 1: True})


@dataclass(frozen=True)
class StatTable:
    """A plan's statistics of a year without a StatRow per row: what publication streams.

    ``rows``: plain tuples in TABLE_FIELDS order, sorted as ``read`` sorts them; or, made by
    ``of``, StatRows (``built``). ``missing``: row index → the counties below the row's region
    that did not report (rows above county level; none where nothing is missing).
    ``units``: indicator → unit of its value, for tuples (a StatRow carries its own).
    ``fixed``: plan_code, year and basis of every row, for tuples.
    """

    rows: list[Any]
    missing: dict[int, tuple[str, ...]]
    units: dict[str, str]
    built: bool = False
    # read_table's sort: each row's key, position × width + seq rank, position a region's in
    # the tree (``positions``; a region outside it: len(positions))
    keys: list[int] | None = None
    positions: dict[str, int] | None = None
    width: int = 0
    fixed: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[StatRow]) -> StatTable:
        """A table over StatRows made elsewhere (write_statistics called with StatRows)."""
        return cls(rows, {i: r.missing_regions for i, r in enumerate(rows) if r.missing_regions},
                   {}, built=True)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, field: str, rows: list[Any] | None = None) -> Iterator[Any]:
        """One field of ``rows`` (a slice of ``self.rows``; default all) as StatRow.to_dict has
        it before rounding: on_track a bool, unit the indicator's. Not missing_regions."""
        rows = self.rows if rows is None else rows
        if self.built:
            return map(attrgetter(field), rows)
        if field == "unit":
            return map(self.units.__getitem__, map(itemgetter(_INDICATOR), rows))
        if field in self.fixed:
            return repeat(self.fixed[field], len(rows))
        values = map(itemgetter(_COLUMN[field]), rows)
        if field == "direct":
            return map(_BOOL.__getitem__, values)
        return map(_TRUTH.__getitem__, values) if field == "on_track" else values

    def columns(self, rows: list[Any], fields: Sequence[str] | None = None) -> list[Sequence[Any]]:
        """``rows`` (of ``self.rows``) as columns, one per field of ``fields`` (default all of
        _DICT_FIELDS): the values StatRow.to_dict would round and write."""
        if fields is not None:
            return [list(self.column(field, rows)) for field in fields]
        if self.built:
            return list(zip(*map(_dict_values, rows), strict=True)) if rows else [
                () for _ in _DICT_FIELDS]
        if not rows:
            return [() for _ in _DICT_FIELDS]
        raw = list(zip(*rows, strict=True))
        out = [raw[_COLUMN[f]] if f in _COLUMN else [self.fixed[f]] * len(rows)
               if f in self.fixed else () for f in _DICT_FIELDS]
        out[_DICT_FIELDS.index("unit")] = list(map(self.units.__getitem__, raw[_INDICATOR]))
        out[_DICT_FIELDS.index("on_track")] = list(map(_TRUTH.__getitem__,
                                                       raw[_COLUMN["on_track"]]))
        return out

    @cached_property
    def region_codes(self) -> list[str]:
        return list(self.column("region_code"))

    @cached_property
    def indicator_codes(self) -> list[str]:
        return list(self.column("indicator_code"))

    def rows_of(self, codes: Iterable[str]) -> dict[str, list[int]]:
        """The indexes of the rows of each region of ``codes`` that has any, regions in order of
        first appearance. For regions of the tree, found by their keys (no scan)."""
        codes = set(codes)
        if self.keys is None or self.positions is None or not codes <= self.positions.keys():
            region_codes = self.region_codes
            out: dict[str, list[int]] = {}
            for i in compress(count(), map(codes.__contains__, region_codes)):
                out.setdefault(region_codes[i], []).append(i)
            return out
        spans = []
        for code in codes:
            start = self.positions[code] * self.width
            first = bisect_left(self.keys, start)
            end = bisect_left(self.keys, start + self.width, first)
            if first < end:
                spans.append((first, end, code))
        return {code: list(range(first, end)) for first, end, code in sorted(spans)}

    def missing_between(self, start: int, stop: int) -> list[tuple[int, tuple[str, ...]]]:
        """(index, missing_regions) of the rows start … stop - 1 that name any."""
        at = self._missing_at
        return [(i, self.missing[i]) for i in at[bisect_left(at, start):bisect_left(at, stop)]]

    @cached_property
    def _missing_at(self) -> list[int]:
        return sorted(self.missing)

    def stat_rows(self, indexes: Iterable[int] | None = None) -> list[StatRow]:
        """The rows (those at ``indexes``, in that order; default all) as StatRows."""
        indexes = range(len(self.rows)) if indexes is None else indexes
        if self.built:
            return [self.rows[i] for i in indexes]
        units, missing, boolean, truth = self.units, self.missing, _BOOL, _TRUTH
        plan_code, year, basis = (self.fixed[k] for k in ("plan_code", "year", "basis"))
        return [StatRow(plan_code, region_code, indicator_code, year, value, numerator,
                        denominator, target, comparator, status, completion_rate,
                        reporting_regions, expected_regions, boolean[direct], expected_value,
                        truth[on_track], basis, missing.get(i, ()), units[indicator_code])
                for i in indexes
                for (region_code, indicator_code, value, numerator, denominator, direct,
                     reporting_regions, expected_regions, target, comparator, status,
                     completion_rate, expected_value, on_track)
                in (self.rows[i],)]


def read(wh: Warehouse, plan: Plan, year: int, regions: RegionTree, basis: str = "accepted",
         conn: Connection | None = None) -> list[StatRow]:
    """The materialised rows, plan owner first, then down the tree, in the plan's order."""
    return read_table(wh, plan, year, regions, basis, conn).stat_rows()


def read_table(wh: Warehouse, plan: Plan, year: int, regions: RegionTree,
               basis: str = "accepted", conn: Connection | None = None) -> StatTable:
    """``read``'s rows as plain tuples (StatTable): the published files' source.

    A community-scale plan has ≈ 220,000 rows a year: they come from the driver's cursor as
    tuples, sorted on one integer key made in C; no object or dict is made per row. The
    collector is off meanwhile: each of the tuples would count towards its next run.
    """
    units = {ind.code: ind.stat_unit for ind in plan.indicators}
    with no_gc():
        rows = list(wh.tuples("report/agg_indicator_value", TABLE_FIELDS, conn=conn,
                              shared_texts=True, plan_code=plan.code, year=year,
                              basis=basis))
        # By (region down the tree, regions outside it last; the indicator's seq), stably: seq
        # as its rank among the plan's seqs (equal seqs rank equal), so that one integer
        # compares as the pair (region position, seq) did.
        region_codes = list(map(itemgetter(_REGION), rows))
        regions.learn(region_codes)
        order = {code: i for i, code in enumerate(regions.descendants(plan.region_code))}
        ranks = {s: i for i, s in enumerate(sorted({ind.seq for ind in plan.indicators}))}
        rank = {ind.code: ranks[ind.seq] for ind in plan.indicators}
        keys = list(map(add, map(mul, map(order.get, region_codes, repeat(len(order))),
                                 repeat(len(ranks))),
                        map(rank.__getitem__, map(itemgetter(_INDICATOR), rows))))
        permutation = sorted(range(len(rows)), key=keys.__getitem__)
        found = _missing(rows, region_codes, regions)  # by index in ``rows``
        ordered = list(map(rows.__getitem__, permutation))
        ordered_keys = list(map(keys.__getitem__, permutation))
        missing = {}
        for i, regions_missing in found.items():  # a few hundred: found by their keys
            at = bisect_left(ordered_keys, keys[i])
            while ordered[at] is not rows[i]:  # equal keys: rows of one region and seq
                at += 1
            missing[at] = regions_missing
    return StatTable(ordered, missing, units, keys=ordered_keys, positions=order,
                     width=len(ranks), fixed={"plan_code": plan.code, "year": year,
                                              "basis": basis})


def _missing(rows: list[tuple[Any, ...]], region_codes: list[str],
             regions: RegionTree) -> dict[int, tuple[str, ...]]:
    """Name, on every row above county level, the counties below it that did not report.

    Only the few rows without a value and the rows of the province and the cities are visited.
    """
    county, upper = regions.codes_at("county"), regions.codes_at("province", "city")
    silent: dict[str, set[str]] = {}
    for i in compress(count(), map(is_, map(itemgetter(_VALUE), rows), repeat(None))):
        if region_codes[i] in county:
            silent.setdefault(rows[i][_INDICATOR], set()).add(region_codes[i])
    out: dict[int, tuple[str, ...]] = {}
    if not silent:
        return out
    under: dict[str, list[str]] = {}
    for i in compress(count(), map(upper.__contains__, region_codes)):
        region, indicator = region_codes[i], rows[i][_INDICATOR]
        if indicator not in silent:
            continue
        if region not in under:
            under[region] = regions.counties_under(region)
        missing = tuple(c for c in under[region] if c in silent[indicator])
        if missing:
            out[i] = missing
    return out


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a bulk of acyclic objects (tuples, texts): it
    would run every 700 of them, now and then over every object of the process."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
