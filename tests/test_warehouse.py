"""Warehouse guarantees on SQLite and a real PostgreSQL: migrations, supersede and as-of,
approval locks, concurrent and killed ingests, purge."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from planstats import pipeline
from planstats.load import now
from tests.conftest import ROOT, good_values

ENYANG = "511903"


@pytest.fixture(params=["sqlite", "postgresql"])
def wh_ctx(request, data_dir, monkeypatch):
    """A pipeline context on a fresh warehouse of each kind."""
    if request.param == "postgresql":
        server = make_url(request.getfixturevalue("postgres_url"))
        name = f"planstats_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(host=server.host, port=server.port, user=server.username,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", url)
    return pipeline.context()


def scalar(ctx, sql: str, **params):
    with ctx.warehouse.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def current_value(ctx, code: str, year: int) -> float:
    return scalar(ctx, """select f.value from fact_value f join submission s
                          on s.submission_id = f.submission_id
                          where s.is_current = 1 and f.indicator_code = :code and f.year = :year""",
                  code=code, year=year)


def test_existing_warehouse_upgrades_in_place(data_dir, tmp_path):
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    config = Config()
    config.set_main_option("script_location", str(ROOT / "planstats" / "migrations"))
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        conn.execute(text(
            "insert into submission (submission_id, region_code, year, file_name, file_hash,"
            " folder, received_at, processed_at, status, is_current) values ('old', '511903',"
            " 2021, 'a.xlsx', 'h', '511903', '2022-01-05', '2022-01-05', 'accepted', 1)"))
    engine.dispose()
    from planstats.warehouse import Warehouse

    Warehouse(url, ROOT / "include" / "sql").create_schema()
    with create_engine(url).connect() as conn:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(config).get_current_head()
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
        assert head != "0001_initial"
        row = conn.execute(text("select file_name, review_status from submission")).one()
        # plans as printed: each plan row's own unit and its conversion (0014a_plan_units)
        units = conn.execute(text("select unit, factor, assess_comparator, assess_target "
                                  "from plan_indicator")).all()
    assert tuple(row) == ("a.xlsx", "pending")
    assert units == []


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

    pipeline.run_rollup("enyang-14th", 2024, ctx, as_of=between)
    past = {r.indicator_code: r.value for r in pipeline.statistics("enyang-14th", 2024, ctx)}
    pipeline.run_rollup("enyang-14th", 2024, ctx)
    present = {r.indicator_code: r.value for r in pipeline.statistics("enyang-14th", 2024, ctx)}
    assert (past["ZB0017"], present["ZB0017"]) == (12, 25)
    pipeline.run_rollup("enyang-14th", 2024, ctx, as_of="2000-01-01T00:00:00")
    before_any = pipeline.statistics("enyang-14th", 2024, ctx)
    assert {r.status for r in before_any} == {"缺报"}


def test_approval_locks_until_reopened_and_approved_basis(wh_ctx, make_workbook):
    ctx = wh_ctx
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "v1.xlsx", year=2023, overrides={"ZB0025": (100, None, None)})
    (first,) = pipeline.ingest(ctx=ctx)
    pipeline.review_decide(first["submission_id"], "approve", "王审核", "核对无误", ctx)

    make_workbook(folder / "v2.xlsx", year=2023, overrides={"ZB0025": (130, None, None)})
    (locked,) = pipeline.ingest(ctx=ctx)
    assert locked["status"] == "rejected"
    assert [i["rule"] for i in locked["issues"]] == ["approved_locked"]
    assert current_value(ctx, "ZB0025", 2023) == 100

    with pytest.raises(ValueError, match="comment"):
        pipeline.review_decide(first["submission_id"], "reopen", "王审核", None, ctx)
    pipeline.review_decide(first["submission_id"], "reopen", "王审核", "县里申请更正", ctx)
    make_workbook(folder / "v3.xlsx", year=2023, overrides={"ZB0025": (130, None, None)})
    (third,) = pipeline.ingest(ctx=ctx)
    assert third["status"] == "accepted"
    assert current_value(ctx, "ZB0025", 2023) == 130

    pipeline.run_rollup("enyang-14th", 2023, ctx, basis="approved")
    approved = {r.indicator_code: r for r in
                pipeline.statistics("enyang-14th", 2023, ctx, basis="approved")}
    assert approved["ZB0025"].value is None, "the approval was reopened: nothing approved now"
    pipeline.review_decide(third["submission_id"], "approve", "王审核", None, ctx)
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
    files = _drop_files(ctx, make_workbook, tmp_path)
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
    with pytest.raises(PermissionError):
        pipeline.purge_warehouse("wrong-name", ctx)
    pipeline.purge_warehouse(name, ctx)
    with create_engine(ctx.settings.warehouse_url).connect() as conn:
        tables = conn.execute(text("select name from sqlite_master where type='table'")).all()
    assert tables == []
