"""Knowledge transfer: knowledge items (subscriptions, digests and feeds follow).

Revision ID: 0007_knowledge
Revises: 0004_sessions
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0007_knowledge"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("url_key", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("organisation", sa.String(300), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("event_date", UTCDateTime(), nullable=True),
        sa.Column("shared_by", sa.String(255), nullable=True),
        sa.Column("feed", sa.String(2000), nullable=True),
        sa.Column("entry_id", sa.String(1000), nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("shared_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.UniqueConstraint("url_key", name="uq_knowledge_items_url_key"),
    )
    op.create_index("ix_knowledge_status_shared", "knowledge_items", ["status", "shared_at"])


def downgrade() -> None:
    op.drop_table("knowledge_items")
