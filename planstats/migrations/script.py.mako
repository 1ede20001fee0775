"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from planstats.migrations.sqlfiles import run_sql_dir

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_dir("migrations/${up_revision}")


def downgrade() -> None:
    raise NotImplementedError("the warehouse keeps history; restore from backup instead")
