"""Indexes the benchmark asked for: the tree upwards, a county's submissions by year.

Revision ID: 0004_indexes
Revises: 0003_completeness
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0004_indexes"
down_revision = "0003_completeness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0004_indexes")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
