"""
### 规划指标年度统计 · 年度统计（yearly statistics）

A run for logical date in year *Y* computes statistics year *Y − 1* (the run on 2026-01-01
publishes 2025), or the year given as the `year` param. For every plan whose period holds that
year: the roll-up in the warehouse (include/sql/rollup), then the 规划指标年度统计 workbook, CSV
and JSON under the publish folder. Backfill 2021–2025 with runs for 2022-01-01 … 2026-01-01.
Idempotent: a cleared run rewrites the same rows and files.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from planstats.alerts import on_failure


@dag(
    dag_id="planstats_yearly",
    schedule="@yearly",
    start_date=datetime(2022, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=2,
    tags=["planstats", "statistics"],
    doc_md=__doc__,
    params={"year": None},
    default_args={
        "owner": "planstats",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_failure,
    },
)
def planstats_yearly() -> None:
    @task
    def statistics_year() -> int:
        """The year this run computes: the param, else the year before the logical date."""
        context = get_current_context()
        if context["params"].get("year"):
            return int(context["params"]["year"])
        when = context.get("logical_date") or context["dag_run"].run_after
        return when.year - 1

    @task
    def plans(year: int) -> list[dict]:
        from planstats import pipeline

        return [{"plan_code": code, "year": year} for code in pipeline.plans_of_year(year)]

    @task
    def rollup(plan_code: str, year: int) -> dict:
        from planstats import pipeline

        rows = pipeline.run_rollup(plan_code, year)
        return {"plan_code": plan_code, "year": year, "rows": rows}

    @task
    def publish(result: dict) -> dict:
        from planstats import pipeline

        return pipeline.publish_statistics(result["plan_code"], result["year"])

    publish.expand(result=rollup.expand_kwargs(plans(statistics_year())))


planstats_yearly()
