"""Airflow callbacks: say what broke and what to do. Light imports only (DAG files use it)."""

from __future__ import annotations

import logging
from typing import Any

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
