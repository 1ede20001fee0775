"""What every planstats DAG shares: defaults, the failure callback, the run's year.

Light imports only: DAG files import this at top level.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from planstats.clock import BEIJING
from planstats.settings import Settings

PARALLEL = Settings.from_env().max_parallel

log = logging.getLogger("planstats")

RUNBOOK = {
    "scan": "检查收件目录（PLANSTATS_INBOX）是否存在、可读。",
    "ingest": "管道自身出错（不是县里的文件有问题）：查看任务日志中的异常，"
              "修复后清除（clear）本任务重跑；已入库的文件不会重复入库。",
    "rollup": "检查仓库连接（PLANSTATS_WAREHOUSE_URL）和 include/sql/rollup 下的 SQL；"
              "修复后清除重跑，结果相同。",
    "publish": "检查发布目录（PLANSTATS_PUBLISH）的磁盘空间和权限，修复后清除重跑。",
}


def on_failure(context: dict[str, Any]) -> None:
    """Log the failed task with the runbook line for it."""
    ti = context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    advice = next((text for key, text in RUNBOOK.items() if key in task_id),
                  "查看任务日志，修复后清除本任务重跑。")
    log.error("planstats task %s failed in run %s: %s  处理办法：%s", task_id,
              getattr(ti, "run_id", "?"), context.get("exception"), advice)


def default_args(retry_delay: timedelta = timedelta(minutes=1)) -> dict[str, Any]:
    """Owner, retries with exponential backoff, and the failure callback with its runbook."""
    return {"owner": "planstats", "retries": 2, "retry_delay": retry_delay,
            "retry_exponential_backoff": True, "on_failure_callback": on_failure}


def run_year(context: Any, offset: int = 0) -> int:
    """The ``year`` param when given, else the run's logical year plus ``offset``.

    A run works on its own year, never on today's date.
    """
    if context["params"].get("year"):
        return int(context["params"]["year"])
    when = context.get("logical_date") or context["dag_run"].run_after
    # The year as Beijing reckons it: the 1 January 02:00 run is still 31 December in UTC.
    return when.astimezone(BEIJING).year + offset
