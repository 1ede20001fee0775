"""Plans as printed: each plan indicator's own unit and its conversion from the concept's unit.

Revision ID: 0008_plan_units
Revises: 0007_value_source
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0008_plan_units"
down_revision = "0007_value_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0008_plan_units")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
