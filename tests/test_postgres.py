"""The same load and roll-up on a real PostgreSQL server as on SQLite, with the same results."""

import json
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from planstats import clock, pipeline
from tests.conftest import fresh_database
from tests.rollup_case import make_include, write_inbox


def run_case(include, monkeypatch, warehouse_url: str | None) -> dict:
    if warehouse_url:
        monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", warehouse_url)
    else:
        monkeypatch.delenv("PLANSTATS_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(include))
    ctx = pipeline.context()
    write_inbox(ctx.settings.inbox, 2023)
    outcomes = pipeline.ingest(ctx=ctx)
    assert {o["status"] for o in outcomes} == {"accepted"}
    assert [o["status"] for o in pipeline.ingest(ctx=ctx)] == [], "inbox is empty after ingest"
    write_inbox(ctx.settings.inbox, 2023)  # the same bytes again: no-ops
    assert {o["status"] for o in pipeline.ingest(ctx=ctx)} == {"duplicate"}
    pipeline.run_rollup("test-city", 2023, ctx)
    pipeline.run_rollup("test-city", 2023, ctx)
    rows = {(r.region_code, r.indicator_code): r.to_dict()
            for r in pipeline.statistics("test-city", 2023, ctx)}
    # the published JSON, read from the warehouse's tuples (a server-side cursor on
    # PostgreSQL), and as of now (on the connection of the rolled-back view): the same rows
    out = ctx.settings.data_dir / "published"
    for as_of in (None, clock.now()):
        paths = pipeline.publish_statistics("test-city", 2023, out / str(bool(as_of)), ctx,
                                            as_of=as_of)
        published = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
        assert {(r["region_code"], r["indicator_code"]): r for r in published} == rows
    return rows


def test_postgres_and_sqlite_give_identical_statistics(postgres_url, tmp_path, monkeypatch):
    include = make_include(tmp_path)
    monkeypatch.setenv("PLANSTATS_STABLE_SECONDS", "0")
    monkeypatch.setenv("PLANSTATS_DATA_DIR", str(tmp_path / "sqlite"))
    on_sqlite = run_case(include, monkeypatch, None)
    monkeypatch.setenv("PLANSTATS_DATA_DIR", str(tmp_path / "pg"))
    pg_url = fresh_database(postgres_url)
    on_postgres = run_case(include, monkeypatch, pg_url)
    assert on_postgres.keys() == on_sqlite.keys()
    for key, row in on_sqlite.items():
        for field, value in row.items():
            if isinstance(value, float):
                assert on_postgres[key][field] == pytest.approx(value), (key, field)
            else:
                assert on_postgres[key][field] == value, (key, field)
    assert on_postgres[("511900", "ZB9001")]["value"] == pytest.approx(80.0)
    with psycopg.connect(make_url(pg_url).render_as_string(hide_password=False)
                         .replace("postgresql+psycopg", "postgresql")) as conn:
        facts = conn.execute("select count(*) from fact_value").fetchone()[0]
        submissions = conn.execute("select count(*) from submission").fetchone()[0]
        # ingest analysed what it loaded (autovacuum would only after enough changes): the
        # roll-ups after it are planned on the warehouse as it is
        analysed = dict(conn.execute("select relname, last_analyze is not null from "
                                     "pg_stat_user_tables").fetchall())
    assert (facts, submissions) == (24, 4)
    assert analysed["fact_value"] and analysed["submission"], analysed
