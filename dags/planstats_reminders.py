"""
### 规划指标年度统计 · 催报名单（reminders）

Every Monday in January (09:00 UTC) lists the counties that have not yet
sent an accepted file for the statistics year (the logical date's year − 1) into
`<reports>/<year>/催报名单.csv`, for the data team's reminder round.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task

from planstats.dagkit import default_args, run_year


@dag(
    dag_id="planstats_reminders",
    schedule="0 9 * 1 1",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["planstats", "reminders"],
    doc_md=__doc__,
    params={"year": None},
    default_args=default_args(),
)
def planstats_reminders() -> None:
    @task
    def owing() -> dict:
        from planstats import pipeline

        return pipeline.reminders(run_year(get_current_context(), offset=-1))

    owing()


planstats_reminders()
