"""Multi-level approval (region_approval), what each decision was about, follow-up marks.

Revision ID: 0006_approval
Revises: 0005_instants
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = "0006_approval"
down_revision = "0005_instants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/0006_approval")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
