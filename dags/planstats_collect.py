"""
### 规划指标年度统计 · 收集（collection）

Picks up county files from the landing zone (`<inbox>/<region_code>/*.xlsx|.xls|.ods|.csv`) every 15
minutes (or when triggered by hand), checks them (structure, then the Great Expectations suites
generated from the catalog), loads accepted ones into the warehouse (one transaction per file),
archives or quarantines each file with its report, writes a receipt into the county's folder,
and refreshes the reviewer index and GX Data Docs. Files in a county's `预审/` folder are
pre-checked the same way in their own task: report, marked-up copy and receipt in `回执/`, the
file kept in the 预审 archive, nothing loaded. When a region/year changed, it emits the
`planstats_facts` asset (with the years in its extra) so the yearly statistics refresh.

A bad county file is a normal outcome (reported, quarantined) and never fails this DAG; a task
fails only when the pipeline itself breaks. Re-running is safe: a file already loaded is a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from planstats.assets import FACTS
from planstats.dagkit import default_args


@dag(
    dag_id="planstats_collect",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["planstats", "collection"],
    doc_md=__doc__,
    default_args=default_args(retry_delay=timedelta(seconds=30)),
)
def planstats_collect() -> None:
    @task
    def scan() -> list[str]:
        """Files in the landing zone that have stopped changing."""
        from planstats import pipeline

        return pipeline.scan_inbox()

    @task
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

    @task(outlets=[FACTS])
    def announce(outcomes: list[dict]) -> list[int]:
        """Emit the facts asset for the years that changed; skipped when none did."""
        years = sorted({o["year"] for o in outcomes
                        if o["year"] and o["status"] in ("accepted", "accepted_with_warnings")})
        if not years:
            raise AirflowSkipException("no accepted file: the statistics are unchanged")
        get_current_context()["outlet_events"][FACTS].extra = {"years": years}
        return years

    @task
    def precheck() -> list[dict]:
        """Pre-check the files in every county's 预审 folder: the same checks, nothing loaded."""
        from planstats import pipeline

        return [{"file": o["file"], "status": o["status"], "receipt": o["receipt"]}
                for o in pipeline.precheck()]

    precheck()
    outcomes = ingest(scan())
    data_docs(outcomes)
    announce(outcomes)


planstats_collect()
