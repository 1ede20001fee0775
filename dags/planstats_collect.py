"""
### 规划指标年度统计 · 收集（collection）

Picks up county files from the landing zone (`<inbox>/<region_code>/*.xlsx|*.csv`), checks
them (structure, then the Great Expectations suites generated from the catalog), loads accepted
ones into the warehouse (one transaction per file), archives or quarantines each file with its
report, writes a receipt into the county's folder, and refreshes the reviewer index and GX Data
Docs.

A bad county file is a normal outcome (reported, quarantined) and never fails this DAG; a task
fails only when the pipeline itself breaks. Re-running is safe: a file already loaded is a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from planstats.alerts import on_failure

FACTS = Asset(name="planstats_facts", uri="file:///planstats/warehouse/fact_value")


@dag(
    dag_id="planstats_collect",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["planstats", "collection"],
    doc_md=__doc__,
    default_args={
        "owner": "planstats",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_failure,
    },
)
def planstats_collect() -> None:
    @task
    def scan() -> list[str]:
        """Files in the landing zone that have stopped changing."""
        from planstats import pipeline

        return pipeline.scan_inbox()

    @task(outlets=[FACTS])
    def ingest(paths: list[str]) -> list[dict]:
        """Check, load, archive and report every file; returns one line per file."""
        from planstats import pipeline

        outcomes = pipeline.ingest(paths)
        return [{"file": o["file"], "status": o["status"], "region_code": o.get("region_code"),
                 "year": o.get("year")} for o in outcomes]

    @task
    def data_docs(outcomes: list[dict]) -> str | None:
        """Rebuild the reviewers' GX Data Docs when something was checked."""
        from planstats import pipeline

        if not any(o["status"] != "duplicate" for o in outcomes):
            return None
        return str(pipeline.data_docs())

    data_docs(ingest(scan()))


planstats_collect()
