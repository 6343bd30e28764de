"""Candidates for new funding records (Dutch subsidy regulations from the official journals),
waiting for a facilitator to accept or dismiss them.

Revision ID: 0009_funding_candidates
Revises: 0008_digests
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0009_funding_candidates"
down_revision = "0008_digests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding_candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("issuer", sa.String(300), nullable=True),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("published_on", sa.Date, nullable=True),
        sa.Column("url", sa.String(1000), nullable=True),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("opens_on", sa.Date, nullable=True),
        sa.Column("closes_on", sa.Date, nullable=True),
        sa.Column("amount_eur", sa.BigInteger, nullable=True),
        sa.Column("excerpt", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("record_id", sa.String(120), nullable=True),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("source", "external_id", name="uq_funding_candidates_source_external_id"),
    )
    op.create_index("ix_funding_candidates_status", "funding_candidates", ["status"])


def downgrade() -> None:
    op.drop_index("ix_funding_candidates_status", "funding_candidates")
    op.drop_table("funding_candidates")
