"""Knowledge digests: subscriptions, a record per sent (or empty) period, deadline alerts.

Revision ID: 0008_digests
Revises: 0008_labs_facilities_nl
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0008_digests"
down_revision = "0008_labs_facilities_nl"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber", sa.String(255), nullable=False),
        sa.Column("is_room", sa.Boolean, nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("at_time", sa.String(5), nullable=False),
        sa.Column("weekday", sa.Integer, nullable=True),
        sa.Column("day_of_month", sa.Integer, nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("watermark", UTCDateTime(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("paused_until", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("subscriber", name="uq_digest_subscriptions_subscriber"),
    )
    op.create_index("ix_digest_subscriptions_due", "digest_subscriptions", ["next_due_at"])
    op.create_table(
        "digest_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer,
                  sa.ForeignKey("digest_subscriptions.id", ondelete="CASCADE",
                                name="fk_digest_records_subscription_id_digest_subscriptions"), nullable=False),
        sa.Column("period_key", sa.String(40), nullable=False),
        sa.Column("composed_at", UTCDateTime(), nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("outbox_key", sa.String(120), nullable=True),
        sa.UniqueConstraint("subscription_id", "period_key", name="uq_digest_records_period"),
    )
    op.create_table(
        "digest_deadline_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber", sa.String(255), nullable=False),
        sa.Column("instrument_id", sa.String(120), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("subscriber", "instrument_id", "deadline_at", name="uq_digest_deadline_alerts_once"),
    )
    op.create_index("ix_digest_deadline_alerts_instrument", "digest_deadline_alerts", ["instrument_id", "deadline_at"])


def downgrade() -> None:
    op.drop_table("digest_deadline_alerts")
    op.drop_table("digest_records")
    op.drop_table("digest_subscriptions")
