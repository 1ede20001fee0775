"""Alembic environment: upgrades the warehouse in place (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from planstats.settings import Settings
from planstats.warehouse import make_engine


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or Settings.from_env().warehouse_url
    with make_engine(url).connect() as conn:
        run(conn)
