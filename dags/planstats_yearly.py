"""
### 规划指标年度统计 · 年度统计（yearly statistics）

Computes and publishes the statistics of every plan in period for a statistics year: the roll-up
in the warehouse (include/sql/rollup), the 规划指标年度统计 workbook, CSV and JSON per plan, and
the year's HTML dashboard under the publish folder.

Which year:
- the scheduled run (1 January, Beijing time) for logical date in year *Y* computes *Y − 1*;
  backfill 2021–2025 with runs dated 2022-01-01 … 2026-01-01;
- a run triggered by the `planstats_facts` asset (the collection DAG loaded late or corrected
  files) recomputes the years those files were for;
- the `year` param, when given, wins.

Idempotent: a cleared or repeated run rewrites the same rows and files.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from planstats.assets import FACTS
from planstats.dagkit import PARALLEL, default_args, run_year


@dag(
    dag_id="planstats_yearly",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 1 1 *", timezone="Asia/Shanghai"), assets=[FACTS]),
    start_date=datetime(2022, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=PARALLEL,
    tags=["planstats", "statistics"],
    doc_md=__doc__,
    params={"year": None},
    default_args=default_args(),
)
def planstats_yearly() -> None:
    @task
    def statistics_years() -> list[int]:
        """The param year; else the years of the triggering asset events; else logical year − 1."""
        context = get_current_context()
        years = {int(y) for events in (context.get("triggering_asset_events") or {}).values()
                 for event in events for y in (event.extra or {}).get("years", [])}
        if years and not context["params"].get("year"):
            return sorted(years)
        return [run_year(context, offset=-1)]

    @task
    def plans(years: list[int]) -> list[dict]:
        from planstats import pipeline

        return [{"plan_code": code, "year": year}
                for year in years for code in pipeline.plans_of_year(year)]

    @task(max_active_tis_per_dagrun=PARALLEL)
    def rollup(plan_code: str, year: int) -> dict:
        """Roll-up in the warehouse, then the plan's workbook, CSV and JSON."""
        from planstats import pipeline

        rows = pipeline.run_rollup(plan_code, year)
        paths = pipeline.publish_statistics(plan_code, year)
        return {"plan_code": plan_code, "year": year, "rows": rows, **paths}

    @task
    def dashboard(results: list[dict]) -> list[str]:
        """The HTML dashboard of each year, once every plan of it is published."""
        from planstats import pipeline

        return [pipeline.publish_dashboard(year) for year in sorted({r["year"] for r in results})]

    dashboard(rollup.expand_kwargs(plans(statistics_years())))


planstats_yearly()
