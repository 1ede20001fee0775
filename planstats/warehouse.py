"""The warehouse: SQLAlchemy 2 engine, the SQL files under include/sql, dimension sync.

Every statement lives in ``include/sql/<layer>/<name>.sql`` and runs unchanged on SQLite and
PostgreSQL. The dialect differences all live here: SQLite's pragmas and ``BEGIN IMMEDIATE``
(one writer at a time), PostgreSQL's advisory lock per region and year (``lock_region_year``).
The schema is upgraded in place by Alembic (planstats/migrations).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from functools import cache, lru_cache, partial
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    String,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import SQLAlchemyError

from planstats import clock
from planstats.catalog import Catalog
from planstats.regions import RegionTree

# Columns and parameters named like this hold instants (the one naming rule for time).
TIME_NAME = re.compile(r"\b(\w+_at|at|as_of)\b")
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
# a line "#include <layer>/<name>" stands for that file's text (a predicate statements share);
# left unexpanded it is a syntax error, not a silently missing condition
_INCLUDE = re.compile(r"^[ \t]*#include[ \t]+([\w/]+)[ \t]*$", re.MULTILINE)


class Instant(TypeDecorator):
    """An instant: ``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite.

    Parameters may be aware datetimes or ISO text; results come back as aware UTC datetimes.
    """

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(32))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return clock.utc(value) if dialect.name == "postgresql" else clock.stored_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return clock.utc(value)


class Sql:
    """Named SQL statements read from files: ``sql('rollup/agg_indicator_value')``.

    Parameters and selected columns whose names follow TIME_NAME are typed as instants; a
    ``#include`` line is replaced by the statement it names.
    """

    def __init__(self, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self._statements: dict[str, Any] = {}
        self._sources: dict[str, str] = {}
        self._positional: dict[str, tuple[str, list[str]]] = {}
        self._columns: dict[str, list[str]] = {}

    def __call__(self, name: str):
        if name not in self._statements:
            self._statements[name] = typed(self.source(name))
        return self._statements[name]

    def source(self, name: str) -> str:
        """The statement's text as written in its file, its includes expanded."""
        if name not in self._sources:
            written = (self.sql_dir / f"{name}.sql").read_text(encoding="utf-8")
            self._sources[name] = _INCLUDE.sub(lambda m: self.source(m[1]), written)
        return self._sources[name]

    def positional(self, name: str) -> tuple[str, list[str]]:
        """The statement with ``?`` for each ``:name``, and the names in that order: SQLite
        binds a sequence faster than a mapping (5.3 → 4.0 µs a fact row)."""
        if name not in self._positional:
            source = self.source(name)
            self._positional[name] = (_PARAM.sub("?", source), _PARAM.findall(source))
        return self._positional[name]

    def columns(self, name: str) -> list[str]:
        """The column list of a statement such as ``copy t (a, b) from stdin``: its first
        parentheses, comments aside."""
        if name not in self._columns:
            code = _code(self.source(name))
            self._columns[name] = [c.strip() for c in
                                   code[code.index("(") + 1:code.index(")")].split(",")]
        return self._columns[name]


def _code(sql: str) -> str:
    """The statement without its ``--`` comments."""
    return "\n".join(line.split("--")[0] for line in sql.splitlines())


def typed(sql: str) -> Any:
    """A text statement with its time parameters and, for a query, its time columns typed."""
    statement = text(sql)
    times = sorted({p for p in _PARAM.findall(sql) if TIME_NAME.fullmatch(p)})
    if times:
        statement = statement.bindparams(*(bindparam(p, type_=Instant()) for p in times))
    code = _code(sql).lower()
    if not re.search(r"\b(insert|update|delete)\b", code):
        columns = sorted(set(TIME_NAME.findall(code)))
        if columns:
            statement = statement.columns(**dict.fromkeys(columns, Instant))
    return statement


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode=wal")
    cursor.execute("pragma busy_timeout=30000")
    cursor.execute("pragma synchronous=normal")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _on_sqlite_connect)
        # A writer takes the database lock at BEGIN, so check-then-write cannot interleave.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True)


FACT_KEY = ("submission_id", "region_code", "indicator_code")  # fact_value's primary key


class Warehouse:
    """Connections and the named statements of one warehouse."""

    def __init__(self, url: str, sql_dir: Path, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.sql = Sql(sql_dir)

    def create_schema(self) -> None:
        """Create or upgrade the schema in place to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def purge(self, confirm: str, allowed: bool) -> None:
        """Drop every planstats table. Test warehouses only: county files are never touched."""
        name = make_url(self.url).database or ""
        if not allowed or confirm != Path(name).name:
            raise PermissionError(
                "purge is for test warehouses: set PLANSTATS_ALLOW_PURGE=1 and confirm with the "
                f"database name {Path(name).name!r}")
        with self.engine.begin() as conn:
            for path in sorted((self.sql.sql_dir / "purge").glob("*.sql")):
                conn.execute(self.sql(f"purge/{path.stem}"))
        warehouse_for.cache_clear()

    def lock_region_year(self, conn: Connection, region_code: str, year: int | None) -> None:
        """Serialise writers of one region and year until the transaction ends."""
        if self.engine.dialect.name == "postgresql":
            # any folder name (a county's mistake) must give a key, not only digits
            digest = hashlib.blake2b(f"{region_code}/{year}".encode(), digest_size=8).digest()
            key = int.from_bytes(digest, "big", signed=True)
            conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": key})
        # SQLite: BEGIN IMMEDIATE already holds the single writer lock.

    def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the tables as they are after a load.

        Its autovacuum analyses a table only after enough changes, at a time of its own; a
        roll-up planned on the statistics of a smaller warehouse took 47.8 s instead of 1.7 s
        (sichuan-14th, 827 communities, 2025). Every table: analysing only those an ingest grows
        (submission, fact_value, dim_region, region_closure) left that roll-up at 17 s.
        SQLite: the statements fix their join order (CROSS JOIN) and no statistics are kept.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text("analyze"))

    def run(self, conn: Connection, name: str,
            params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None):
        """Execute a named statement; a list of parameter sets runs as one executemany."""
        if isinstance(params, Sequence) and not params:
            return None
        return conn.execute(self.sql(name), params if params is not None else {})

    def insert_many(self, conn: Connection, name: str, rows: Sequence[Any],
                    columns: Sequence[str] | None = None) -> None:
        """A named insert of many rows: mappings, or tuples of ``columns`` (no dict a row, for
        the fact rows). On SQLite the rows go straight to the driver's executemany:
        SQLAlchemy's processing of each parameter set cost 11 µs a row, more than SQLite's own
        7 µs (a statement without time parameters needs none of it)."""
        if not rows:
            return
        if self.engine.dialect.name != "sqlite":
            conn.execute(self.sql(name), rows if columns is None else
                         [dict(zip(columns, row, strict=True)) for row in rows])
            return
        statement, names = self.sql.positional(name)
        if columns is None:
            rows = map(_tuple_of(names), rows)
        elif (order := list(columns)) != names:
            rows = map(_tuple_of([order.index(n) for n in names]), rows)
        conn.connection.dbapi_connection.executemany(statement, rows)

    def insert_facts(self, conn: Connection, rows: Sequence[tuple[Any, ...]],
                     columns: Sequence[str]) -> None:
        """A file's fact rows (tuples of ``columns``) into fact_value: the upsert
        ``load/fact_value``, or on PostgreSQL (psycopg) one COPY (``load/fact_value_copy``) of
        the last row of each key (what the upsert's update keeps). The upsert's executemany
        cost ≈ 55 µs a row there: each row's parameters through SQLAlchemy and the server."""
        if not rows:
            return
        if self.engine.dialect.driver != "psycopg":
            self.insert_many(conn, "load/fact_value", rows, columns)
            return
        names = list(columns)
        key = _tuple_of([names.index(c) for c in FACT_KEY])
        last = {key(row): row for row in rows}  # a key given twice: its last row
        order = _tuple_of([names.index(c) for c in self.sql.columns("load/fact_value_copy")])
        statement = self.sql.source("load/fact_value_copy")
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in last.values():
                copy.write_row(order(row))

    def rows(self, name: str, *, conn: Connection | None = None,
             **params: Any) -> list[dict[str, Any]]:
        """A query's rows as dicts, on ``conn`` when given (to see its uncommitted work)."""
        if conn is not None:
            return _dicts(conn.execute(self.sql(name), params))
        with self.engine.connect() as own:
            return _dicts(own.execute(self.sql(name), params))

    def stream(self, name: str, *, conn: Connection | None = None,
               **params: Any) -> Iterator[Any]:
        """Rows one at a time (a server-side cursor on PostgreSQL), for results too big to list."""
        if conn is not None:
            yield from conn.execute(self.sql(name), params).mappings()
            return
        with self.engine.connect() as own:
            result = own.execution_options(stream_results=True, yield_per=10_000).execute(
                self.sql(name), params)
            yield from result.mappings()

    def tuples(self, name: str, columns: Sequence[str], *, conn: Connection | None = None,
               shared_texts: bool = False, stream: bool = True,
               **params: Any) -> Iterator[tuple[Any, ...]]:
        """A query's rows as plain tuples of ``columns`` (named; in that order), on ``conn``
        when given, for results too big for a mapping a row.

        ``shared_texts``: equal texts become one object. The driver makes a new string for
        every cell, so a plan's statistics (220,000 rows repeating a few thousand codes and a
        few status words) held each ≈ 30 times: 155 MB, 79 MB with the texts shared. On
        SQLite only (a cached decoder as the connection's text factory, ≈ 0.05 s on those
        rows); on PostgreSQL the rows are as they come.

        On SQLite straight from the driver's cursor, fetched whole: SQLAlchemy's result rows
        and mappings cost ≈ 3 µs a row of 17 columns, more than SQLite's own reading, and a
        generator passing each row on cost 1 µs more. Elsewhere through SQLAlchemy, each row
        as a tuple; on a connection of its own, through a server-side cursor unless ``stream``
        is False (a county's rows: the cursor's declare, fetch and close were ≈ 2 ms a query
        on PostgreSQL, more than the rows).
        No instants: their columns and parameters need the Instant type (``rows``, ``stream``).
        """
        times = [c for c in (*columns, *params) if TIME_NAME.fullmatch(c)]
        if times:
            raise ValueError(f"tuples() does not convert instants: {times}")
        if self.engine.dialect.name != "sqlite":
            return self._streamed_tuples(name, columns, params, conn, stream)
        with ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
            dbapi = conn.connection.dbapi_connection
            if shared_texts:
                stack.callback(setattr, dbapi, "text_factory", dbapi.text_factory)
                dbapi.text_factory = lru_cache(maxsize=None)(partial(str, encoding="utf-8"))
            cursor = dbapi.cursor()
            stack.callback(cursor.close)
            cursor.execute(self.sql.source(name), params)
            return _in_order(cursor.fetchall(), [d[0] for d in cursor.description], columns)

    def _streamed_tuples(self, name: str, columns: Sequence[str], params: Mapping[str, Any],
                         conn: Connection | None, stream: bool) -> Iterator[tuple[Any, ...]]:
        with ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
                if stream:
                    conn = conn.execution_options(stream_results=True, yield_per=10_000)
            result = conn.execute(self.sql(name), params)
            yield from _in_order(map(tuple, result), list(result.keys()), columns)

    def sync_dimensions(self, catalog: Catalog, regions: RegionTree) -> None:
        """Upsert regions, their closure, plans and indicators from configuration."""
        with self.engine.begin() as conn:
            self.sync_regions(conn, regions, [r.code for r in regions.regions()])
            years = {y for p in catalog.plans.values()
                     for y in range((p.baseline_year or p.period_start), p.period_end + 1)}
            self.run(conn, "load/dim_year", [{"year": y, "label": f"{y}年"} for y in sorted(years)])
            self.run(conn, "load/dim_indicator", [
                {"indicator_code": c.code, "name": c.name, "unit": c.unit,
                 "aggregation": c.aggregation, "scale": c.scale, "numerator_def": c.numerator,
                 "denominator_def": c.denominator, "valid_min": c.valid_min,
                 "valid_max": c.valid_max}
                for c in catalog.concepts.values()
            ])
            self.run(conn, "load/dim_plan", [
                {"plan_code": p.code, "name": p.name, "region_code": p.region_code,
                 "period_start": p.period_start, "period_end": p.period_end,
                 "baseline_year": p.baseline_year, "deadline": p.deadline}
                for p in catalog.plans.values()
            ])
            self.run(conn, "load/plan_indicator", [
                {"plan_code": p.code, "indicator_code": i.code, "seq": i.seq,
                 "category": i.category, "name": i.name, "target_text": i.target_text,
                 "comparator": i.comparator, "target": i.target, "attribute": i.attribute,
                 "target_year": i.target_year, "baseline": i.baseline,
                 "baseline_year": i.baseline_year, "unit": i.unit, "factor": i.stat_factor,
                 "assess_comparator": i.assess[0] if i.assess else None,
                 "assess_target": i.assess[1] if i.assess else None}
                for p in catalog.plans.values() for i in p.indicators
            ])

    def sync_regions(self, conn: Connection, regions: RegionTree, codes: Iterable[str]) -> None:
        """Upsert the given regions and their closure rows."""
        codes = list(codes)
        self.insert_many(conn, "load/dim_region", [
            {"region_code": c, "name": regions[c].name, "level": regions[c].level,
             "parent_code": regions[c].parent}
            for c in codes
        ])
        self.insert_many(conn, "load/region_closure", [
            {"ancestor_code": a, "descendant_code": c, "depth": depth}
            for c in codes for depth, a in enumerate(regions.ancestors(c))
        ])


@cache
def warehouse_for(url: str, sql_dir: Path) -> Warehouse:
    """One warehouse (engine and pool) per URL for the process, schema created on first use."""
    warehouse = Warehouse(url, sql_dir)
    warehouse.create_schema()
    return warehouse


def reader_for(url: str, sql_dir: Path) -> Warehouse | None:
    """The warehouse opened for reading only, as it is: never created, migrated or synced.

    For the dry run. None when there is nothing to read: no SQLite file yet, or a schema that
    is not at the newest revision (the dry run then checks without history).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:" or not path.is_file():
            return None
        # A quiescent WAL database has no -wal file: read it as immutable so that no -wal or
        # -shm file is created; while a writer is active its files exist and mode=ro shares them.
        mode = "ro" if path.with_name(path.name + "-wal").exists() else "ro&immutable=1"
        url = f"sqlite:///file:{path}?mode={mode}&uri=true"
        engine = create_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True,
                               execution_options={"postgresql_readonly": True})
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("select version_num from alembic_version")).scalar()
    except SQLAlchemyError:  # no schema yet, or not reachable: check without history
        revision = None
    if revision != _head_revision():
        engine.dispose()
        return None
    return Warehouse(url, sql_dir, engine)


@cache
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).parent / "migrations")).get_current_head()


def _dicts(result: Any) -> list[dict[str, Any]]:
    keys = list(result.keys())  # zip with the keys once: Row._mapping costs 3× as much per row
    return [dict(zip(keys, row, strict=True)) for row in result]


def _in_order(rows: Iterable[tuple[Any, ...]], names: list[str],
              columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """``rows`` of a result with columns ``names`` as tuples of ``columns``."""
    names = [n.lower() for n in names]
    absent = [c for c in columns if c not in names]
    if absent:
        raise ValueError(f"the query returns no column {absent}")
    if names == list(columns):
        return iter(rows)
    return map(_tuple_of([names.index(c) for c in columns]), rows)


def _tuple_of(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of ``keys``' items as a tuple, also for one key (itemgetter's is the item)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)
