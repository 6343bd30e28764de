"""A deadline moved earlier is an alert of its own (issue 17, section 4): which changes
were told to which subscriber, once (by alert or, if it came first, by the digest).

Revision ID: 0014_digest_change_alerts
Revises: 0013_funding_changes
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0014_digest_change_alerts"
down_revision = "0013_funding_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_change_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber", sa.String(255), nullable=False),
        sa.Column("change_key", sa.String(160), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("subscriber", "change_key", name="uq_digest_change_alerts_once"),
    )


def downgrade() -> None:
    op.drop_table("digest_change_alerts")
