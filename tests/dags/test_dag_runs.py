"""The DAGs through real Airflow (`airflow dags test` on an SQLite metadata DB), over samples."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("airflow-run")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(base / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{base / 'airflow' / 'airflow.db'}",
        "PLANSTATS_DATA_DIR": str(base / "data"),
        "PLANSTATS_STABLE_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
        "GX_ANALYTICS_ENABLED": "False",
        "PLANSTATS_PUBLISH_FORK_ROWS": "1",  # every JSON by a forked child, as big plans' are
        "PLANSTATS_READ_FORK_WORKBOOKS": "2",  # a forked helper reads, as in a big batch
    }
    for name in ("PLANSTATS_WAREHOUSE_URL", "PLANSTATS_INCLUDE_DIR", "PLANSTATS_INBOX"):
        env.pop(name, None)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True)
    run(env, BIN / "airflow", "db", "migrate")
    run(env, sys.executable, "-m", "planstats.cli", "sample", "--region", "511903")
    return env


def run(env: dict, *args) -> str:
    out = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def dag_test(env: dict, dag_id: str, date: str | None = None) -> str:
    log = run(env, BIN / "airflow", "dags", "test", dag_id, *([date] if date else []))
    assert "state=success" in log, log[-3000:]
    return log


def warehouse(env: dict, sql: str) -> list[tuple]:
    with sqlite3.connect(Path(env["PLANSTATS_DATA_DIR"]) / "warehouse.sqlite") as conn:
        return conn.execute(sql).fetchall()


def test_collection_then_yearly_backfill_and_identical_rerun(airflow_env):
    dag_test(airflow_env, "planstats_collect")
    statuses = dict(warehouse(airflow_env, "select status, count(*) from submission group by 1"))
    accepted = statuses.get("accepted", 0) + statuses.get("accepted_with_warnings", 0)
    assert (accepted, statuses["rejected"]) == (6, 2)
    inbox = Path(airflow_env["PLANSTATS_DATA_DIR"]) / "inbox" / "511903"
    assert not list(inbox.glob("*.xlsx")) and not list(inbox.glob("*.csv"))
    docs = Path(airflow_env["PLANSTATS_DATA_DIR"]) / "gx/gx/uncommitted/data_docs/local_site"
    assert (docs / "index.html").exists()

    for date in ("2024-01-01", "2026-01-01"):  # statistics years 2023 and 2025
        dag_test(airflow_env, "planstats_yearly", date)
    years = warehouse(airflow_env, "select distinct year from agg_indicator_value order by 1")
    assert years == [(2023,), (2025,)]
    publish = Path(airflow_env["PLANSTATS_DATA_DIR"]) / "publish"
    assert (publish / "2025" / "enyang-14th_2025_规划指标年度统计.xlsx").exists()
    assert (publish / "2023" / "enyang-14th_2023_规划指标年度统计.xlsx").exists()

    select = ("select plan_code, year, basis, region_code, indicator_code, value, numerator,"
              " denominator, direct, reporting_regions, expected_regions, target, comparator,"
              " status, completion_rate, expected_value, on_track from agg_indicator_value"
              " order by plan_code, year, region_code, indicator_code")
    before = warehouse(airflow_env, select)
    enyang = [row for row in before if row[0] == "enyang-14th"]
    assert len(enyang) == 2 * 37
    dag_test(airflow_env, "planstats_collect")  # nothing new: a no-op
    dag_test(airflow_env, "planstats_yearly", "2026-01-01")
    assert warehouse(airflow_env, select) == before
    assert dict(warehouse(airflow_env, "select status, count(*) from submission group by 1")) == \
        statuses
    assert (publish / "2025" / "index.html").exists(), "the year's dashboard"


def test_collection_announces_the_changed_years_as_an_asset_event(airflow_env):
    import json

    with sqlite3.connect(Path(airflow_env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        extras = [json.loads(e) for (e,) in conn.execute("select extra from asset_event")]
    assert {"years": [2021, 2022, 2023, 2024, 2025]} in extras


def test_templates_for_every_county_and_the_reminder_list(airflow_env):
    dag_test(airflow_env, "planstats_templates", "2025-12-01")
    outbox = Path(airflow_env["PLANSTATS_DATA_DIR"]) / "outbox" / "2025"
    assert len(list(outbox.glob("*/*.xlsx"))) == 183
    assert (outbox / "511903" / "恩阳区_2025年度规划指标统计表.xlsx").exists()
    dag_test(airflow_env, "planstats_reminders", "2026-01-05")
    owing = (Path(airflow_env["PLANSTATS_DATA_DIR"]) / "reports" / "2025" / "催报名单.csv")
    lines = owing.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 182 and not any(line.startswith("511903") for line in lines)


def test_collection_answers_a_precheck_and_loads_nothing(airflow_env):
    data = Path(airflow_env["PLANSTATS_DATA_DIR"])
    if list((data / "inbox" / "511903").glob("*.xlsx")):  # run alone: collect the samples first
        dag_test(airflow_env, "planstats_collect")
    pre = data / "inbox" / "511903" / "预审"
    pre.mkdir(parents=True, exist_ok=True)
    sample = sorted((data / "archive").glob("*/511903/*.xlsx"))[0]
    (pre / "预审样例.xlsx").write_bytes(sample.read_bytes())
    before = warehouse(airflow_env, "select count(*), max(received_at) from submission")
    dag_test(airflow_env, "planstats_collect")
    assert warehouse(airflow_env, "select count(*), max(received_at) from submission") == before
    assert not list(pre.iterdir())
    receipt = data / "inbox" / "511903" / "回执" / "预审样例.预审回执.txt"
    assert "没有入库" in receipt.read_text(encoding="utf-8")
    assert list((data / "archive" / "预审" / "511903").glob("*_预审样例.xlsx"))
