"""Run every SQL file of an include/sql folder, in name order, inside the migration."""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from planstats.settings import Settings


def run_sql_dir(folder: str) -> None:
    """The folder's statements, then those of its subfolder named after the dialect, if any
    (e.g. ``postgresql/``: what SQLite has no form for, such as ``timestamptz``)."""
    directory = Settings.from_env().sql_dir / folder
    paths = sorted(directory.glob("*.sql"))
    if not paths:  # a stale include/ copy would otherwise stamp a revision it never ran
        raise FileNotFoundError(f"no SQL files in {directory}")
    paths += sorted((directory / op.get_bind().dialect.name).glob("*.sql"))
    for path in paths:
        op.execute(text(path.read_text(encoding="utf-8")))
