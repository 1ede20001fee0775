"""fact_value without its index by year: every reader goes through the chosen files' keys.

Revision ID: 0009_fact_value_year_index
Revises: 0008_plan_units
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0009_fact_value_year_index"
down_revision = "0008_plan_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0009_fact_value_year_index")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
