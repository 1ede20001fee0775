"""The warehouse as the Airflow Connection ``planstats_warehouse``, when there is one.

Looked up, in order: ``AIRFLOW_CONN_PLANSTATS_WAREHOUSE`` (a URI or Airflow's JSON form, read
by the settings everywhere, the CLI included); then, inside an Airflow process (a task, the
api-server), Airflow's own lookup: its secrets backends and the metadata DB. None when neither
has it: settings then fall back to ``PLANSTATS_WAREHOUSE_URL`` and the SQLite default.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from sqlalchemy.engine import URL

CONN_ID = "planstats_warehouse"
# Airflow connection types → SQLAlchemy drivers this project installs.
DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg",
           "sqlite": "sqlite"}

log = logging.getLogger(__name__)


def warehouse_url_from_airflow(value: str | None) -> str | None:
    """The SQLAlchemy URL of the ``planstats_warehouse`` connection, or None.

    ``value``: the connection as given in the environment (the settings read it), if at all.
    """
    if value and value.strip():
        from airflow.sdk import Connection

        value = value.strip()
        conn = (Connection.from_json(value, conn_id=CONN_ID) if value.startswith("{")
                else Connection.from_uri(value, conn_id=CONN_ID))
        return sqlalchemy_url(conn)
    if "airflow" not in sys.modules:  # the plain CLI: never start Airflow just to look
        return None
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        return None
    url = sqlalchemy_url(conn)
    log.info("warehouse from the Airflow connection %s: %s", CONN_ID,
             URL.create(**_parts(conn)).render_as_string(hide_password=True)
             if conn.conn_type != "sqlite" else url)
    return url


def sqlalchemy_url(conn: Any) -> str:
    """An Airflow Connection (postgres or sqlite) as a SQLAlchemy URL string."""
    if conn.conn_type == "sqlite":  # the file is the host (JSON, UI) or the URI's path
        return f"sqlite:///{conn.host or conn.schema}"
    return URL.create(**_parts(conn)).render_as_string(hide_password=False)


def _parts(conn: Any) -> dict[str, Any]:
    driver = DRIVERS.get(conn.conn_type or "")
    if driver is None:
        raise ValueError(f"connection {CONN_ID}: type {conn.conn_type!r} is not supported "
                         f"(use one of {', '.join(sorted(DRIVERS))})")
    return {"drivername": driver, "username": conn.login or None,
            "password": conn.password or None, "host": conn.host or None,
            "port": conn.port or None, "database": conn.schema or None,
            "query": {k: str(v) for k, v in (conn.extra_dejson or {}).items()
                      if k in ("sslmode", "options", "application_name", "connect_timeout")}}
