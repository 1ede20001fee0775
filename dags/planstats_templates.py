"""
### 规划指标年度统计 · 下发填报模板（template publishing）

Before each collection season (1 December, 01:00 UTC) writes every county's pre-filled
workbook for the coming statistics year — the logical date's year — into the outbox,
`<outbox>/<year>/<region_code>/`, one mapped task per city (市/州). Last year's values are
filled in where the warehouse has them. Re-running overwrites the same files.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task

from planstats.dagkit import PARALLEL, default_args, run_year


@dag(
    dag_id="planstats_templates",
    schedule="0 1 1 12 *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["planstats", "templates"],
    doc_md=__doc__,
    params={"year": None},
    default_args=default_args(),
)
def planstats_templates() -> None:
    @task
    def cities() -> list[dict]:
        """Counties to serve, grouped by city so the work maps over 21 tasks, not 183."""
        from planstats import pipeline

        year = run_year(get_current_context())
        return [{"year": year, "counties": counties}
                for counties in pipeline.reporting_units(year).values()]

    @task(max_active_tis_per_dagrun=PARALLEL)
    def publish_templates(year: int, counties: list[str]) -> int:
        from planstats import pipeline

        return len(pipeline.publish_templates(year, counties))

    publish_templates.expand_kwargs(cities())


planstats_templates()
