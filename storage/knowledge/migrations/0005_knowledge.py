"""Knowledge transfer: knowledge items, their full-text index knowledge_search (SQLite:
FTS5 virtual table; PostgreSQL: table with tsvector + GIN index) and the feeds' polling state.

Revision ID: 0007_knowledge
Revises: 0004_sessions
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime
from storage.search import SearchIndex

revision = "0007_knowledge"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

# Same table and fields as storage.knowledge.records.KNOWLEDGE_INDEX (kept literal here on purpose).
_INDEX = SearchIndex("knowledge_search", {"title": 6.0, "topics": 3.0, "body": 1.0})


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
    op.create_index("ix_knowledge_feed_entry", "knowledge_items", ["feed", "entry_id"])
    op.create_table(
        "knowledge_feeds",
        sa.Column("url", sa.String(1000), primary_key=True),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("last_poll", UTCDateTime(), nullable=True),
        sa.Column("last_ok", UTCDateTime(), nullable=True),
        sa.Column("next_attempt", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("items", sa.Integer, nullable=False),
    )
    for stmt in _INDEX.ddl(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _INDEX.drop_ddl(op.get_bind().dialect.name):
        op.execute(stmt)
    op.drop_table("knowledge_feeds")
    op.drop_index("ix_knowledge_feed_entry", "knowledge_items")
    op.drop_table("knowledge_items")
