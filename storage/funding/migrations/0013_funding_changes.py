"""Funding at the size live data brings, and change alerts (issue 17, sections 4 and 5):

- funding_deadlines: every deadline of every instrument in UTC, indexed by time, kept on
  every write (storage.funding.models), filled here for the rows that exist, so
  `!deadlines`, digests and deadline alerts read an index range instead of every record;
- funding_changes: changes of a record's deadline, status, budget or conditions, for the
  "Changed" part of its followers' digests (storage/funding/changes.py).

Revision ID: 0013_funding_changes
Revises: 0012_session_reactions
"""
import json

import sqlalchemy as sa
from alembic import op

from storage.funding.models import deadline_rows
from storage.models.base import UTCDateTime

revision = "0013_funding_changes"
down_revision = "0012_session_reactions"
branch_labels = None
depends_on = None

_TABLE = "funding_instruments"


def upgrade() -> None:
    op.create_table(
        "funding_deadlines",
        sa.Column("instrument_id", sa.String(120), primary_key=True),
        sa.Column("at", UTCDateTime(), primary_key=True),
    )
    op.create_index("ix_funding_deadlines_at", "funding_deadlines", ["at"])
    bind = op.get_bind()
    source = sa.table(_TABLE, sa.column("id", sa.String), sa.column("deadlines", sa.JSON))
    target = sa.table("funding_deadlines", sa.column("instrument_id", sa.String), sa.column("at", UTCDateTime()))
    rows = []
    for fid, deadlines in bind.execute(sa.select(source.c.id, source.c.deadlines)).all():
        if isinstance(deadlines, str):
            deadlines = json.loads(deadlines)
        rows += deadline_rows(fid, deadlines)
    if rows:
        bind.execute(sa.insert(target), rows)
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
    op.drop_index("ix_funding_deadlines_at", "funding_deadlines")
    op.drop_table("funding_deadlines")
