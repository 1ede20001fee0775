"""Completeness and timeliness per plan, year and county (agg_completeness).

Revision ID: 0003_completeness
Revises: 0002_review
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0003_completeness"
down_revision = "0002_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0003_completeness")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
