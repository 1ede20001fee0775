"""The production topology, run for real, faults included (``make e2e``).

docker-compose.yml's services as plain processes (tests/topology/stack.py): PostgreSQL with the
metadata DB and the warehouse, Redis, airflow-init, the api-server with the project's plugins,
scheduler, dag-processor, triggerer and two Celery workers. Driven only through the REST API v2,
as an operator's script would; the county files are dropped into the share, the statistics are
read from the PostgreSQL warehouse and the publish folder. The figures go to the test's output.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.topology.api import Api
from tests.topology.stack import Stack

pytestmark = pytest.mark.topology

YEAR = 2025
COLLECT, YEARLY = "planstats_collect", "planstats_yearly"
WORKERS = {"airflow-worker-1", "airflow-worker-2"}
# (county, plan of its own besides 四川省's): 恩阳区, 东坡区 (眉山市), 锦江区 (成都市)
BATCH = ("511903", "511402", "510104")
BURST = ("511423", "510105", "510106")  # 洪雅县, 青羊区, 金牛区: upload while a run works
LATE = ("510107", "511403")  # 武侯区, 彭山区: for the run during which the warehouse stops
STATS = ("select plan_code, year, basis, region_code, indicator_code, value, numerator,"
         " denominator, direct, reporting_regions, expected_regions, target, comparator, status,"
         " completion_rate, expected_value, on_track from agg_indicator_value where year = %s"
         " order by plan_code, basis, region_code, indicator_code")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Any:
    stack = Stack(tmp_path_factory.mktemp("topology"))
    try:
        stack.start()
        yield stack
    except BaseException:
        print(stack.logs_tail())
        raise
    finally:
        stack.stop()


def samples(regions: tuple[str, ...], out: Path) -> list[Path]:
    """One good workbook per county for YEAR, written by the project's own sample writer."""
    from planstats import pipeline
    from planstats.samples import write_samples

    with pytest.MonkeyPatch.context() as env:
        # the templates read last year's values from a warehouse: an empty one of their own
        env.setenv("PLANSTATS_DATA_DIR", str(out))
        ctx = pipeline.context()
        return [p for region in regions
                for p in write_samples(ctx, region, [YEAR], out, broken=False)]


def warehouse(stack: Stack, sql: str, *params: Any, dbname: str = "planstats") -> list[tuple]:
    env = stack.spec["services"]["postgres"]["environment"]
    with psycopg.connect(host="127.0.0.1", port=stack.pg.port, dbname=dbname, user="planstats",
                         password=env["PLANSTATS_DB_PASSWORD"]) as conn:
        return conn.execute(sql, params).fetchall()


def loaded(stack: Stack) -> int:
    """Submissions in the warehouse (0 before the first task created its schema)."""
    if not warehouse(stack, "select to_regclass('submission')")[0][0]:
        return 0
    return warehouse(stack, "select count(*) from submission")[0][0]


def running(api: Api, dag_id: str, task_id: str) -> dict[str, Any] | None:
    return next((ti for ti in running_all(api, dag_id) if ti["task_id"] == task_id), None)


def running_all(api: Api, dag_id: str) -> list[dict[str, Any]]:
    """Task instances running on a worker now."""
    return [ti for run in api.runs(dag_id) if run["state"] in ("queued", "running")
            for ti in api.task_instances(dag_id, run["dag_run_id"])
            if ti["state"] == "running" and ti["hostname"]]


def wait_for(what: str, probe, timeout: float = 300, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)
    return found


def settle(api: Api, timeout: float = 420) -> None:
    """Wait until neither DAG has a queued or running run (nor an asset event waiting)."""
    def idle() -> bool:
        return not any(r["state"] in ("queued", "running")
                       for d in (COLLECT, YEARLY) for r in api.runs(d))
    # twice, 15 s apart: an asset event may still be turning into a run
    wait_for("the DAG runs to finish", lambda: idle() and (time.sleep(15) or idle()), timeout, 2)


def slow_copy(sources: list[Path], folder: Path, pause: float, log: list[dict]) -> None:
    """A county's upload over a slow share: each file written in pieces, in place."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        data = source.read_bytes()
        target = folder / source.name
        began = time.time()
        with target.open("wb") as out:
            for i in range(0, len(data), len(data) // 4 + 1):
                out.write(data[i:i + len(data) // 4 + 1])
                out.flush()
                time.sleep(pause)
        log.append({"file": source.name, "began": began, "done": time.time()})


def test_production_topology(stack: Stack, tmp_path: Path, topology_report: dict) -> None:
    report = topology_report
    report["startup"] = {k: round(v, 1) for k, v in stack.timings.items()}
    api = Api(stack.api_url, "admin", stack.admin_password())
    assert api.dag_ids() == ["planstats_collect", "planstats_reminders", "planstats_templates",
                             "planstats_yearly"]
    share = stack.share / "inbox"
    staging = tmp_path / "staging"
    batch = samples(BATCH, staging)
    corrupt = staging / BATCH[0] / "损坏的文件.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a workbook")
    burst = samples(BURST, tmp_path / "burst")
    late = samples(LATE, tmp_path / "late")
    for path in [*batch, corrupt]:
        (share / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, share / path.parent.name / path.name)

    # ---- collection, with kill -9 of the worker running ingest -----------------------------
    began = time.monotonic()
    first = api.trigger(COLLECT)
    for dag_id in (COLLECT, YEARLY):
        api.unpause(dag_id)
    ingest = wait_for("ingest running on a worker", lambda: running(api, COLLECT, "ingest"))
    arrivals: list[dict] = []
    uploads = [threading.Thread(target=slow_copy, args=(
        [p for p in burst if p.parent.name == region], share / region, 0.6, arrivals))
        for region in BURST]
    for upload in uploads:
        upload.start()
    # killed as soon as ingest runs: waiting for its first load let a batch this small finish
    # before the kill (four files load in well under the 0.1 s between two looks)
    loaded_at_kill = loaded(stack)
    victim = stack.procs[ingest["hostname"]]
    victim_pid = victim.pid
    victim.kill9()
    killed_at = time.monotonic()
    stack.restart(ingest["hostname"])  # restart: always
    for upload in uploads:
        upload.join()
    run = api.wait(COLLECT, ingest["dag_run_id"], timeout=400)
    assert run["state"] == "success", run
    tries = api.tries(COLLECT, ingest["dag_run_id"], "ingest")
    report["kill -9 worker during ingest"] = {
        "killed": f"{ingest['hostname']} (pid {victim_pid}, process group)",
        "submissions loaded before the kill": loaded_at_kill,
        "files dropped": len(batch) + 1,
        "ingest tries": [(t["try_number"], t["hostname"], t["state"]) for t in tries],
        "seconds from kill to run success": round(time.monotonic() - killed_at, 1),
    }
    assert len(tries) >= 2 and tries[-1]["state"] == "success"
    assert any(t["state"] == "failed" for t in tries[:-1])
    assert first  # the triggered run exists; the scheduler's own run may have taken the files

    # ---- yearly run from the facts asset, with the scheduler killed mid-run ----------------
    yearly = wait_for("the asset-triggered yearly run", lambda: next(
        (r for r in api.runs(YEARLY) if r["run_type"] == "asset_triggered"), None), 300, 1)
    wait_for("yearly tasks running", lambda: running(api, YEARLY, "rollup")
             or running(api, YEARLY, "plans") or running(api, YEARLY, "dashboard"), 300)
    scheduler = stack.procs["airflow-scheduler"]
    scheduler.kill9()
    down = time.monotonic()
    time.sleep(5)
    stack.restart("airflow-scheduler")
    yearly = api.wait(YEARLY, yearly["dag_run_id"], timeout=400)
    assert yearly["state"] == "success", yearly
    report["scheduler kill -9 mid-run, restarted after 5 s"] = {
        "run": yearly["dag_run_id"],
        "seconds from kill to run success": round(time.monotonic() - down, 1),
    }

    # ---- the burst: picked up by the next run, never half-read ---------------------------
    # ---- and the warehouse's PostgreSQL stopped while ingest works -------------------------
    for path in late:
        (share / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, share / path.parent.name / path.name)
    assert api.trigger(COLLECT)
    wait_for("a task connected to the warehouse", lambda: warehouse(
        stack, "select count(*) from pg_stat_activity where datname = 'planstats'"
        " and pid <> pg_backend_pid()", dbname="postgres")[0][0] >= 1, timeout=300, every=0.2)
    hit = [ti for dag_id in (COLLECT, YEARLY) for ti in running_all(api, dag_id)]
    pg_down = time.monotonic()
    stack.pg.stop()
    time.sleep(5)
    stack.pg.start()
    pg_downtime = time.monotonic() - pg_down
    settle(api)
    report["warehouse PostgreSQL stopped for 5 s while tasks use it"] = {
        "downtime s": round(pg_downtime, 1),
        "tasks running then (dag, task, map index, tries)": [
            (ti["dag_id"], ti["task_id"], ti["map_index"],
             [(t["try_number"], t["hostname"], t["state"]) for t in api.tries(
                 ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"])])
            for ti in hit],
        "services restarted by restart: always": {
            p.container: p.restarts for p in stack.procs.values() if p.restarts},
    }
    for ti in hit:
        assert api.tries(ti["dag_id"], ti["dag_run_id"], ti["task_id"],
                         ti["map_index"])[-1]["state"] == "success", ti
    runs = {(d, r["dag_run_id"]): r["state"] for d in (COLLECT, YEARLY) for r in api.runs(d)}
    assert set(runs.values()) == {"success"}, runs

    # ---- what landed ------------------------------------------------------------------------
    subs = warehouse(stack, "select file_name, status, file_hash, folder from submission")
    names = [s[0] for s in subs]
    dropped = [p.name for p in [*batch, corrupt, *burst, *late]]
    assert sorted(names) == sorted(dropped), "every file loaded exactly once"
    assert len({s[2] for s in subs}) == len(subs)
    statuses = {s[0]: s[1] for s in subs}
    assert statuses[corrupt.name] == "rejected"
    assert all(statuses[p.name] != "rejected" for p in [*batch, *burst, *late]), statuses
    assert not [p for p in share.rglob("*") if p.suffix in (".xlsx", ".csv")
                and "回执" not in p.parts], "nothing left in the inbox"
    kept = [p.name.split("_", 1)[1] for folder in ("archive", "quarantine")
            for p in (stack.share / folder).rglob("*")
            if len(p.suffixes) == 1 and p.suffix in (".xlsx", ".csv")]  # not sidecars
    assert sorted(kept) == sorted(dropped), "every county file kept once, none lost"
    assert not (stack.share / "archive" / "duplicates").exists(), "nothing read twice"
    report["burst"] = {
        "files": len(burst), "written in pieces over s": round(
            max(a["done"] for a in arrivals) - min(a["began"] for a in arrivals), 1),
        "rejected (half-read)": sum(statuses[p.name] == "rejected" for p in burst),
    }

    # ---- statistics: identical to a clean run of the same files ---------------------------
    got = rounded(warehouse(stack, STATS, YEAR))
    assert got, "statistics in the PostgreSQL warehouse"
    assert got == rounded(clean_run(stack, [*batch, corrupt, *burst, *late], tmp_path / "clean"))
    publish = stack.share / "publish" / str(YEAR)
    books = sorted(p.name for p in publish.glob("*.xlsx"))
    assert len(books) == 4 and (publish / "index.html").exists(), books
    report["statistics"] = {"rows": len(got), "identical to a clean run": True,
                            "workbooks": books}

    # ---- who ran what ------------------------------------------------------------------------
    ran = []
    for dag_id in (COLLECT, YEARLY):
        for dag_run in api.runs(dag_id):
            for ti in api.task_instances(dag_id, dag_run["dag_run_id"]):
                for t in api.tries(dag_id, dag_run["dag_run_id"], ti["task_id"],
                                   ti["map_index"]):
                    ran.append((dag_id, dag_run["run_type"], t["task_id"], t["map_index"],
                                t["try_number"], t["hostname"], t["state"]))
    report["task tries (dag, run type, task, map index, try, worker, state)"] = ran
    hosts = {r[5] for r in ran if r[5]}
    assert hosts <= WORKERS and len(hosts) == 2, hosts
    report["total s (after startup)"] = round(time.monotonic() - began, 1)


def rounded(rows: list[tuple]) -> list[tuple]:
    """Floats to 9 places: sums of the same values in another order differ in the last bit."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def clean_run(stack: Stack, files: list[Path], base: Path) -> list[tuple]:
    """The same files through the same pipeline functions, once, in a fresh warehouse."""
    from planstats import pipeline

    env = stack.spec["services"]["postgres"]["environment"]
    warehouse(stack, "select 1")  # the server is back
    with psycopg.connect(host="127.0.0.1", port=stack.pg.port, dbname="postgres",
                         user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
                         autocommit=True) as conn:
        conn.execute("create database reference owner planstats")
    url = (f"postgresql+psycopg://planstats:{env['PLANSTATS_DB_PASSWORD']}@127.0.0.1:"
           f"{stack.pg.port}/reference")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLANSTATS_DATA_DIR", str(base))
        env.setenv("PLANSTATS_WAREHOUSE_URL", url)
        env.setenv("PLANSTATS_STABLE_SECONDS", "0")
        ctx = pipeline.context()
        for path in files:
            (ctx.settings.inbox / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, ctx.settings.inbox / path.parent.name / path.name)
        pipeline.ingest(ctx=ctx)
        for code in pipeline.plans_of_year(YEAR, ctx):
            pipeline.run_rollup(code, YEAR, ctx)
    return warehouse(stack, STATS, YEAR, dbname="reference")
