"""Initial warehouse: dimensions, submissions, facts, aggregates (include/sql/schema).

Revision ID: 0001_initial
Revises:
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("schema")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
