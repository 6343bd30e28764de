"""Funding at the size live data brings, and change alerts (issue 17, sections 4 and 5):

- funding_instruments.first_deadline_at / last_deadline_at: the first and last deadline in
  UTC, kept on every write (storage.funding.models), indexed together, filled here for the
  rows that exist, so `!deadlines`, digests and deadline alerts read an index range instead
  of every record;
- funding_changes: changes of a record's deadline, status, budget or conditions, for the
  "Changed" part of its followers' digests (storage/funding/changes.py).

Revision ID: 0009_funding_changes
Revises: 0008_digests
"""
import json

import sqlalchemy as sa
from alembic import op

from storage.funding.models import deadline_span
from storage.models.base import UTCDateTime

revision = "0009_funding_changes"
down_revision = "0008_digests"
branch_labels = None
depends_on = None

_TABLE = "funding_instruments"


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("first_deadline_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_deadline_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_funding_instruments_deadline_span", ["last_deadline_at", "first_deadline_at"])
    bind = op.get_bind()
    table = sa.table(_TABLE, sa.column("id", sa.String), sa.column("deadlines", sa.JSON),
                     sa.column("first_deadline_at", UTCDateTime()), sa.column("last_deadline_at", UTCDateTime()))
    updates = []
    for fid, deadlines in bind.execute(sa.select(table.c.id, table.c.deadlines)).all():
        if isinstance(deadlines, str):
            deadlines = json.loads(deadlines)
        first, last = deadline_span(deadlines)
        if first is not None:
            updates.append({"b_id": fid, "first": first, "last": last})
    if updates:
        bind.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
            first_deadline_at=sa.bindparam("first"), last_deadline_at=sa.bindparam("last")), updates)
    op.create_table(
        "funding_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", sa.String(120), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("title_nl", sa.String(500), nullable=True),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("old", sa.Text, nullable=True),
        sa.Column("new", sa.Text, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.String(255), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_funding_changes_at", "funding_changes", ["at"])
    op.create_index("ix_funding_changes_instrument", "funding_changes", ["instrument_id"])


def downgrade() -> None:
    op.drop_index("ix_funding_changes_instrument", "funding_changes")
    op.drop_index("ix_funding_changes_at", "funding_changes")
    op.drop_table("funding_changes")
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_index("ix_funding_instruments_deadline_span")
        batch.drop_column("last_deadline_at")
        batch.drop_column("first_deadline_at")
