"""Where each accepted value was in the county's file (sheet and cells), for provenance.

Revision ID: 0007_value_source
Revises: 0006_approval
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0007_value_source"
down_revision = "0006_approval"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0007_value_source")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
