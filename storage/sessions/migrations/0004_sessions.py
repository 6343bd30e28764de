"""Peer-review sessions (sessions, participants, reviews, actions, polls, votes); the
scheduler's group keys, recurrence and retry bookkeeping; outbox event types and files.

Revision ID: 0004_sessions
Revises: 0003_labs
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0004_sessions"
down_revision = "0003_labs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.add_column(sa.Column("group_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("recurrence", sa.JSON, nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=True))
        batch.add_column(sa.Column("note", sa.String(255), nullable=True))
        batch.create_index("ix_jobs_group", ["group_key"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("event_type", sa.String(100), nullable=False, server_default="m.room.message"))
        batch.add_column(sa.Column("attachment", sa.LargeBinary, nullable=True))

    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("project", sa.Text, nullable=True),
        sa.Column("question", sa.Text, nullable=True),
        sa.Column("topic", sa.String(50), nullable=True),
        sa.Column("facilitator", sa.String(255), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("location", sa.String(500), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("series_id", sa.Integer, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("format", sa.String(20), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("report_sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_review_sessions_starts", "review_sessions", ["status", "starts_at"])
    op.create_table(
        "session_participants",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "session_reviews",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reviewer", sa.String(255), primary_key=True),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("strengths", sa.Text, nullable=True),
        sa.Column("concerns", sa.Text, nullable=True),
        sa.Column("recommendations", sa.Text, nullable=True),
        sa.Column("named", sa.Boolean, nullable=False),
        sa.Column("step", sa.Integer, nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "session_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("review_sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("due", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "session_polls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("facilitator", sa.String(255), nullable=False),
        sa.Column("slots", sa.JSON, nullable=False),
        sa.Column("txn_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("session_id", sa.Integer, nullable=True),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_session_polls_txn_id", "session_polls", ["txn_id"])
    op.create_table(
        "session_poll_votes",
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("session_polls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("slots", sa.JSON, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("session_poll_votes", "session_polls", "session_actions", "session_reviews",
                  "session_participants", "review_sessions"):
        op.drop_table(table)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attachment")
        batch.drop_column("event_type")
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.drop_index("ix_jobs_group")
        for col in ("note", "last_error", "attempts", "recurrence", "group_key"):
            batch.drop_column(col)
