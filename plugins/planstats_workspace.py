"""The reviewer workspace inside Airflow: pages and JSON under /planstats on the api-server.

Everything lives in planstats.web; this file only registers it. It appears in Airflow's
navigation and as a tab on every DAG's page (the planstats DAGs are the ones it is about).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from planstats.web.app import URL_PREFIX, app


class PlanstatsWorkspace(AirflowPlugin):
    name = "planstats_workspace"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "规划指标统计审核工作台"}]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "规划指标统计审核", "href": f"{URL_PREFIX}/", "destination": "nav",
         "url_route": "planstats"},
        {"name": "规划指标审核", "href": f"{URL_PREFIX}/review", "destination": "dag",
         "url_route": "planstats_review"},
    ]
