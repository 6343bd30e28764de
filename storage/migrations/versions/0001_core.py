"""Runtime tables: kv, handled_events, rooms, outbox, scheduled_jobs, user_prefs, pages,
direct_rooms, audit_log.

Revision ID: 0001_core
Revises:
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("kv", sa.Column("key", sa.String(100), primary_key=True), sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("joined_at_ms", sa.BigInteger, nullable=False),
        sa.Column("is_direct_with", sa.String(255), nullable=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("txn_id", sa.String(255), nullable=False, unique=True),
        sa.Column("room_id", sa.String(255), nullable=True),
        sa.Column("to_user", sa.String(255), nullable=True),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"])
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("room_id", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_jobs_status_run_at", "scheduled_jobs", ["status", "run_at"])
    op.create_table(
        "user_prefs",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
    )
    op.create_table(
        "pages",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("pages", sa.JSON, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "direct_rooms",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "direct_rooms", "pages", "user_prefs", "scheduled_jobs", "outbox", "rooms",
                  "handled_events", "kv"):
        op.drop_table(table)
