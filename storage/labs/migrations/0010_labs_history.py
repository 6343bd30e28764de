"""Labs as history: a lab may carry an end date (ended, or a temporary site that will end),
whether that date is only roughly known, and where it is stated; and who last checked it.

Revision ID: 0010_labs_history
Revises: 0009_funding_candidates
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_labs_history"
down_revision = "0009_funding_candidates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        batch.add_column(sa.Column("checked_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("ended_on", sa.Date, nullable=True))
        batch.add_column(sa.Column("end_estimate", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("end_source", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        for name in ("end_source", "end_estimate", "ended_on", "checked_by"):
            batch.drop_column(name)
