"""Funding Lane: funding_instruments and its full-text index funding_search
(SQLite: FTS5 virtual table; PostgreSQL: table with tsvector + GIN index).

Revision ID: 0002_funding
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime
from storage.search import SearchIndex

revision = "0002_funding"
down_revision = "0001_core"
branch_labels = None
depends_on = None

# Same table and fields as storage.funding_search.FUNDING_INDEX (kept literal here on purpose).
_INDEX = SearchIndex("funding_search", {"title": 6.0, "topics": 3.0, "body": 1.0})


def upgrade() -> None:
    op.create_table(
        "funding_instruments",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("title_nl", sa.String(500), nullable=True),
        sa.Column("programme", sa.String(300), nullable=True),
        sa.Column("identifier", sa.String(200), nullable=True),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("managing_body", sa.String(300), nullable=True),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("eligible_applicants", sa.JSON, nullable=False),
        sa.Column("consortium_rule", sa.Text, nullable=True),
        sa.Column("cofinancing_rate", sa.Float, nullable=True),
        sa.Column("budget_total_eur", sa.BigInteger, nullable=True),
        sa.Column("grant_min_eur", sa.BigInteger, nullable=True),
        sa.Column("grant_max_eur", sa.BigInteger, nullable=True),
        sa.Column("opens_on", sa.Date, nullable=True),
        sa.Column("deadline_model", sa.String(20), nullable=False),
        sa.Column("deadlines", sa.JSON, nullable=False),
        sa.Column("deadline_note", sa.String(500), nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("summary_nl", sa.Text, nullable=True),
        sa.Column("url", sa.String(1000), nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("last_checked", sa.Date, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=True),
    )
    op.create_index("ix_funding_instruments_level", "funding_instruments", ["level"])
    for stmt in _INDEX.ddl(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _INDEX.drop_ddl(op.get_bind().dialect.name):
        op.execute(stmt)
    op.drop_index("ix_funding_instruments_level", "funding_instruments")
    op.drop_table("funding_instruments")
