"""Warehouse guarantees on SQLite and a real PostgreSQL: migrations, supersede and as-of,
approval locks, concurrent and killed ingests, purge."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from planstats import cli, load, pipeline
from planstats.clock import BEIJING, now, parse_instant
from planstats.review import Reviewer
from tests.conftest import ROOT, good_values

ENYANG = "511903"
WANG = Reviewer("王审核", None, may_decide=True)


def scalar(ctx, sql: str, **params):
    with ctx.warehouse.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def table_rows(ctx, table: str) -> list[tuple]:
    with ctx.warehouse.engine.connect() as conn:
        return sorted(map(tuple, conn.execute(text(f"select * from {table}")).all()))


def current_value(ctx, code: str, year: int) -> float:
    return scalar(ctx, """select f.value from fact_value f join submission s
                          on s.submission_id = f.submission_id
                          where s.is_current = 1 and f.indicator_code = :code and f.year = :year""",
                  code=code, year=year)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_existing_warehouse_upgrades_in_place(kind, data_dir, tmp_path, request):
    from alembic import command
    from alembic.config import Config

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        from tests.conftest import fresh_database

        url = fresh_database(request.getfixturevalue("postgres_url"))
    config = Config()
    config.set_main_option("script_location", str(ROOT / "planstats" / "migrations"))
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004_indexes")  # as the last release left it: times as text
        conn.execute(text(
            "insert into submission (submission_id, region_code, year, file_name, file_hash,"
            " folder, received_at, processed_at, status, is_current) values ('old', '511903',"
            " 2021, 'a.xlsx', 'h', '511903', '2022-01-05T08:00:00+08:00',"
            " '2022-01-05T01:02:03.5+00:00', 'accepted', 1)"))
    engine.dispose()
    from planstats.warehouse import Warehouse

    wh = Warehouse(url, ROOT / "include" / "sql")
    wh.create_schema()
    with wh.engine.connect() as conn:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(config).get_current_head()
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
        row = conn.execute(text("select file_name, review_status from submission")).one()
        # plans as printed: each plan row's own unit and its conversion (0008_plan_units)
        units = conn.execute(text("select unit, factor, assess_comparator, assess_target "
                                  "from plan_indicator")).all()
    assert tuple(row) == ("a.xlsx", "pending")
    assert units == []
    old = wh.rows("report/submission_by_id", submission_id="old")[0]
    assert old["processed_at"] == datetime(2022, 1, 5, 1, 2, 3, 500000, tzinfo=UTC)
    assert wh.rows("report/submissions_of_year", year=2021)[0]["received_at"] == datetime(
        2022, 1, 5, 0, 0, tzinfo=UTC)
    wh.engine.dispose()


def test_supersede_keeps_history_and_as_of_sees_the_past(wh_ctx, make_workbook):
    ctx = wh_ctx
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "v1.xlsx", year=2024, overrides={"ZB0017": (12, None, None)})
    pipeline.ingest(ctx=ctx)
    between = now()
    time.sleep(0.01)
    make_workbook(folder / "v2.xlsx", year=2024, overrides={"ZB0017": (25, None, None)})
    pipeline.ingest(ctx=ctx)
    assert current_value(ctx, "ZB0017", 2024) == 25
    assert scalar(ctx, "select count(*) from submission where superseded_at is not null") == 1

    pipeline.run_rollup("enyang-14th", 2024, ctx)
    past = {r.indicator_code: r.value
            for r in pipeline.statistics("enyang-14th", 2024, ctx, as_of=between)}
    present = {r.indicator_code: r.value for r in pipeline.statistics("enyang-14th", 2024, ctx)}
    assert (past["ZB0017"], present["ZB0017"]) == (12, 25)
    # an as-of workbook's data-quality sheet judges the values of that time too

    def county_value(**when: object) -> float:
        return next(r["value"] for r in ctx.warehouse.rows(
            "quality/county_values", year=2024, level="county", **when)
            if (r["indicator_code"], r["year"]) == ("ZB0017", 2024))

    assert (county_value(past=1, as_of=between), county_value(past=0, as_of=now())) == (12, 25)
    before_any = pipeline.statistics("enyang-14th", 2024, ctx,
                                     as_of=parse_instant("2000-01-01T00:00:00"))
    assert {r.status for r in before_any} == {"缺报"}


def test_approval_made_while_a_file_is_checked_rejects_it_at_load(wh_ctx, make_workbook):
    """The load checks the lock again in its transaction: the file is rejected, counted as
    rejected and kept in quarantine, not archived as if accepted."""
    ctx = wh_ctx
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "v1.xlsx", year=2023, overrides={"ZB0025": (100, None, None)})
    (first,) = pipeline.ingest(ctx=ctx)
    make_workbook(folder / "v2.xlsx", year=2023, overrides={"ZB0025": (130, None, None)})
    (item,) = pipeline.check([folder / "v2.xlsx"], ctx, gx_project=None)
    assert item.status != "rejected"
    pipeline.review_decide(first["submission_id"], "approve", WANG, "核对无误", ctx)

    _, target = load.load_submission(ctx.warehouse, ctx.regions, item,
                                     lambda checked: pipeline._destination(ctx, checked))
    assert item.status == "rejected" and item.issues[-1].rule == "approved_locked"
    assert item.summary["rejected"] == item.summary["values"] > 0
    assert item.summary["updated"] == item.summary["unchanged"] == 0
    assert target.is_relative_to(ctx.settings.quarantine)
    assert scalar(ctx, "select status from submission where stored_path = :p",
                  p=str(target)) == "rejected"
    assert current_value(ctx, "ZB0025", 2023) == 100


def test_approval_locks_until_reopened_and_approved_basis(wh_ctx, make_workbook):
    ctx = wh_ctx
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "v1.xlsx", year=2023, overrides={"ZB0025": (100, None, None)})
    (first,) = pipeline.ingest(ctx=ctx)
    pipeline.review_decide(first["submission_id"], "approve", WANG, "核对无误", ctx)

    make_workbook(folder / "v2.xlsx", year=2023, overrides={"ZB0025": (130, None, None)})
    (locked,) = pipeline.ingest(ctx=ctx)
    assert locked["status"] == "rejected"
    assert [i["rule"] for i in locked["issues"]] == ["approved_locked"]
    assert current_value(ctx, "ZB0025", 2023) == 100

    with pytest.raises(ValueError, match="comment"):
        pipeline.review_decide(first["submission_id"], "reopen", WANG, None, ctx)
    pipeline.review_decide(first["submission_id"], "reopen", WANG, "县里申请更正", ctx)
    # not v2's bytes again (made within the same second, they would be: a duplicate)
    make_workbook(folder / "v3.xlsx", year=2023, overrides={"ZB0025": (130, None, None)},
                  notes={"ZB0025": "更正后重报"})
    (third,) = pipeline.ingest(ctx=ctx)
    assert third["status"] == "accepted"
    assert current_value(ctx, "ZB0025", 2023) == 130

    pipeline.run_rollup("enyang-14th", 2023, ctx, basis="approved")
    approved = {r.indicator_code: r for r in
                pipeline.statistics("enyang-14th", 2023, ctx, basis="approved")}
    assert approved["ZB0025"].value is None, "the approval was reopened: nothing approved now"
    pipeline.review_decide(third["submission_id"], "approve", WANG, None, ctx)
    pipeline.run_rollup("enyang-14th", 2023, ctx, basis="approved")
    approved = {r.indicator_code: r for r in
                pipeline.statistics("enyang-14th", 2023, ctx, basis="approved")}
    assert approved["ZB0025"].value == 130 and approved["ZB0025"].basis == "approved"
    events = pipeline.review_show(first["submission_id"], ctx)["events"]
    assert [e["action"] for e in events] == ["approve", "reopen"]


def _cli_env(ctx) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["PLANSTATS_DATA_DIR"] = str(ctx.settings.data_dir)
    env["PLANSTATS_STABLE_SECONDS"] = "0"
    if "PLANSTATS_WAREHOUSE_URL" in os.environ:
        env["PLANSTATS_WAREHOUSE_URL"] = os.environ["PLANSTATS_WAREHOUSE_URL"]
    return env


def _drop_files(ctx, make_workbook, tmp_path, years=(2021, 2022, 2023, 2024, 2025),
                versions: int = 3) -> int:
    """Each year sent ``versions`` times (a 说明 differs), so a batch has many loads to cut."""
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True, exist_ok=True)
    i = 0
    for year in years:
        for version in range(versions):
            name = f"{year}-v{version}.xlsx"
            path = make_workbook(tmp_path / name, year=year, notes={"ZB0031": f"第{version}版"})
            shutil.copy(path, folder / name)
            os.utime(folder / name, (1_000_000 + i, 1_000_000 + i))
            i += 1
    return len(years) * versions


def _assert_consistent(ctx, files: int) -> None:
    assert scalar(ctx, "select count(*) from submission") == files
    assert scalar(ctx, "select count(distinct file_hash) from submission") == files
    assert scalar(ctx, """select count(*) from (select region_code, year from submission
                          where is_current = 1 group by region_code, year having count(*) > 1)
                          as doubled""") == 0
    per_file = len(good_values(ctx, ENYANG, 2023))
    assert scalar(ctx, "select count(*) from fact_value") == files * per_file
    assert scalar(ctx, """select count(*) from fact_value f where not exists
                          (select 1 from submission s
                           where s.submission_id = f.submission_id)""") == 0
    assert not list((ctx.settings.inbox / ENYANG).glob("*.xlsx"))


def test_concurrent_ingests_do_not_interleave_or_double(wh_ctx, make_workbook, tmp_path):
    ctx = wh_ctx
    files = _drop_files(ctx, make_workbook, tmp_path)
    env = _cli_env(ctx)
    runs = [subprocess.Popen([sys.executable, "-m", "planstats.cli", "ingest", "--json"], env=env,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-3000:]
    _assert_consistent(ctx, files)


@pytest.mark.parametrize("after_loaded", [1, 3])
def test_kill_during_ingest_then_rerun_loses_and_doubles_nothing(wh_ctx, make_workbook, tmp_path,
                                                                after_loaded):
    ctx = wh_ctx
    # loads take ≈ 1–2 ms each: enough of them that the kill lands before the batch is done
    # (40 files were loaded whole before the kill once the loads got faster)
    files = _drop_files(ctx, make_workbook, tmp_path, versions=20)
    run = subprocess.Popen([sys.executable, "-m", "planstats.cli", "ingest"], env=_cli_env(ctx),
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and run.poll() is None:
        if (scalar(ctx, "select count(*) from submission") or 0) >= after_loaded:
            break
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.wait()
    loaded = scalar(ctx, "select count(*) from submission")
    assert loaded < files, "killed mid-batch"
    pipeline.ingest(ctx=ctx)
    _assert_consistent(ctx, files)


def test_purge_is_for_test_warehouses_only(ctx, monkeypatch):
    name = Path(make_url(ctx.settings.warehouse_url).database).name
    with pytest.raises(PermissionError):
        pipeline.purge_warehouse(name, ctx)
    monkeypatch.setenv("PLANSTATS_ALLOW_PURGE", "1")
    ctx = pipeline.context()
    with pytest.raises(PermissionError):
        pipeline.purge_warehouse("wrong-name", ctx)
    pipeline.purge_warehouse(name, ctx)
    with create_engine(ctx.settings.warehouse_url).connect() as conn:
        tables = conn.execute(text("select name from sqlite_master where type='table'")).all()
    assert tables == []


def test_as_of_is_computed_for_the_reader_and_publishes_nothing(wh_ctx, make_workbook, tmp_path,
                                                                 capsys):
    ctx = wh_ctx
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "v1.xlsx", year=2024, overrides={"ZB0017": (12, None, None)})
    pipeline.ingest(ctx=ctx)
    between = now().astimezone(BEIJING).isoformat()  # an offset, as a reviewer would type it
    time.sleep(0.01)
    make_workbook(folder / "v2.xlsx", year=2024, overrides={"ZB0017": (25, None, None)})
    pipeline.ingest(ctx=ctx)
    pipeline.run_rollup("enyang-14th", 2024, ctx)
    published = pipeline.publish_statistics("enyang-14th", 2024, ctx=ctx)
    dashboard = pipeline.publish_dashboard(2024, ctx)
    files = {p: Path(p).read_bytes() for p in (*published.values(), dashboard)}
    tables = {t: table_rows(ctx, t) for t in ("agg_indicator_value", "agg_completeness")}

    mine = tmp_path / "as-of"
    capsys.readouterr()
    assert cli.main(["rollup", "--plan", "enyang-14th", "--year", "2024", "--as-of", between,
                     "--out", str(mine), "--json"]) == 0
    past = {r["indicator_code"]: r for r in json.loads(capsys.readouterr().out)
            if r["region_code"] == ENYANG}
    assert past["ZB0017"]["value"] == 12
    assert {p: Path(p).read_bytes() for p in files} == files, "published files untouched"
    assert {t: table_rows(ctx, t) for t in tables} == tables, "tables untouched"
    live = {r.indicator_code: r.value for r in pipeline.statistics("enyang-14th", 2024, ctx)
            if r.region_code == ENYANG}
    assert live["ZB0017"] == 25
    written = json.loads(next(mine.glob("*.json")).read_text(encoding="utf-8"))
    assert next(r for r in written if r["region_code"] == ENYANG
                and r["indicator_code"] == "ZB0017")["value"] == 12
    assert "截至" in (mine / "index.html").read_text(encoding="utf-8")


def test_inbox_folder_that_is_no_region_code_is_told_and_skipped(wh_ctx, make_workbook):
    ctx = wh_ctx
    stray = ctx.settings.inbox / "恩阳区数据"
    make_workbook(stray / "2023.xlsx", year=2023)
    make_workbook(ctx.settings.inbox / ENYANG / "2023.xlsx", year=2023)
    outcomes = pipeline.ingest(ctx=ctx)
    assert [o["status"] for o in outcomes] == ["accepted"]
    assert (stray / "2023.xlsx").exists(), "the county's file stays where it was"
    notice = (stray / pipeline.FOLDER_NOTICE).read_text(encoding="utf-8")
    assert "恩阳区数据" in notice and "不是行政区划代码" in notice
    assert pipeline.ingest(ctx=ctx) == [], "and stays skipped on every run, without failing"


def test_instants_are_timestamptz_on_postgresql(wh_ctx, make_workbook):
    ctx = wh_ctx
    if ctx.warehouse.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no timestamptz: test_trust checks its fixed-width text form")
    with ctx.warehouse.engine.connect() as conn:
        types = dict(conn.execute(text(
            "select table_name || '.' || column_name, data_type from information_schema.columns"
            " where column_name like '%\\_at' or column_name = 'at'")).all())
    assert types and set(types.values()) == {"timestamp with time zone"}, types


def test_sql_includes_expand_to_the_shared_predicate(tmp_path):
    """The roll-up and a figure's sources choose submissions with the same text; an include
    of a statement that does not exist fails instead of dropping the condition."""
    from planstats.warehouse import Sql

    sql = Sql(ROOT / "include" / "sql")
    shared = sql.source("rollup/counted_submission")
    for name in ("rollup/agg_indicator_value", "web/value_sources"):
        assert not re.search(r"^\s*#include", sql.source(name), re.MULTILINE)
        assert shared in sql.source(name)
        assert {"basis", "past", "as_of"} <= set(sql.positional(name)[1])
    (tmp_path / "broken.sql").write_text("select 1\nwhere 1 = 1\n    #include rollup/gone\n")
    with pytest.raises(FileNotFoundError):
        Sql(tmp_path).source("broken")


def test_a_files_facts_keep_the_last_row_of_a_key_on_both_warehouses(wh_ctx):
    """PostgreSQL copies a file's facts (COPY), SQLite upserts them: the same rows either way,
    the last of a unit and indicator given twice, empty numbers and notes as NULL."""
    from planstats.load import FACT_COLUMNS

    wh = wh_ctx.warehouse

    def fact(code: str, value: float | None, note: str | None, *cells: str | None) -> tuple:
        return ("s1", ENYANG, code, 2025, value, None if value else 3.0,
                None if value else 4.0, note, None if value else "待核实", "指标数据", *cells)

    with wh.engine.begin() as conn:
        wh.insert_facts(conn, [fact("ZB0001", 1.0, "第一次", "E4", None, None),
                               fact("ZB0002", None, None, None, "F5", "G5"),
                               fact("ZB0001", 2.5, "改为 2.5", "E9", None, None)], FACT_COLUMNS)
    with wh.engine.connect() as conn:
        stored = sorted(map(tuple, conn.execute(text(
            f"select {', '.join(FACT_COLUMNS)} from fact_value")).all()))
    assert stored == [fact("ZB0001", 2.5, "改为 2.5", "E9", None, None),
                      fact("ZB0002", None, None, None, "F5", "G5")]
