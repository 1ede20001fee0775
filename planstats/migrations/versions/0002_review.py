"""Reviewer decisions, supersede time for as-of queries, one submission per file, basis.

Revision ID: 0002_review
Revises: 0001_initial
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0002_review"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0002_review")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
