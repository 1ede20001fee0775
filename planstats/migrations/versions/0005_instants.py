"""Instants as times: ``timestamptz`` on PostgreSQL, one fixed-width UTC text form on SQLite.

Also: agg_completeness.deadline becomes due_at, and records the values each county delivered.

Revision ID: 0005_instants
Revises: 0004_indexes
"""

from alembic import op
from sqlalchemy import text

from planstats.clock import stored_text
from planstats.migrations.sqlfiles import run_sql_dir

revision = "0005_instants"
down_revision = "0004_indexes"
branch_labels = None
depends_on = None

INSTANTS = {
    "submission": ("received_at", "processed_at", "reviewed_at", "superseded_at"),
    "review_event": ("at",),
    "agg_indicator_value": ("computed_at",),
    "agg_completeness": ("first_received_at", "due_at", "computed_at"),
}


def upgrade() -> None:
    run_sql_dir("migrations/0005_instants")  # and its postgresql/ folder: the timestamptz types
    if op.get_bind().dialect.name == "sqlite":
        _rewrite_sqlite_text()


def _rewrite_sqlite_text() -> None:
    """Earlier rows hold ISO text of varying precision: rewrite each to the one stored form."""
    conn = op.get_bind()
    for table, columns in INSTANTS.items():
        for column in columns:
            # names come from INSTANTS above, never from data
            found = conn.execute(text(f"select distinct {column} from {table} "
                                      f"where {column} is not null")).scalars().all()
            for old in found:
                new = stored_text(old)
                if new != old:
                    conn.execute(text(f"update {table} set {column} = :new "
                                      f"where {column} = :old"), {"new": new, "old": old})


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
