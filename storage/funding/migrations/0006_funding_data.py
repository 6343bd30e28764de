"""Funding data a person can rely on: what an instrument is (kind), who checked it, where it
comes from (origin, external id and status, last seen at the source, stale) and whether
its dates are estimates.

Revision ID: 0005_funding_data
Revises: 0007_knowledge
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0005_funding_data"
down_revision = "0007_knowledge"
branch_labels = None
depends_on = None

_TABLE = "funding_instruments"


def upgrade() -> None:
    # batch mode: SQLite cannot add NOT NULL columns with defaults or indexes in place on all versions.
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="grant"))
        batch.add_column(sa.Column("dates_indicative", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("checked_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(20), nullable=False, server_default="bundled"))
        batch.add_column(sa.Column("external_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("external_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_funding_instruments_origin_external_id", ["origin", "external_id"])


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_index("ix_funding_instruments_origin_external_id")
        for name in ("stale", "last_seen_at", "external_status", "external_id", "origin", "checked_by",
                     "dates_indicative", "kind"):
            batch.drop_column(name)
