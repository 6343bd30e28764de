"""Sessions: joining with a 👍 on the announcement. The announcement's event id on the
session, and the reaction that signed someone up on their participation (its redaction
means leaving).

Revision ID: 0012_session_reactions
Revises: 0011_brokerage
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_session_reactions"
down_revision = "0011_brokerage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_sessions") as batch:
        batch.add_column(sa.Column("announce_event", sa.String(255), nullable=True))
        batch.create_index("ix_review_sessions_announce_event", ["announce_event"])
    with op.batch_alter_table("session_participants") as batch:
        batch.add_column(sa.Column("reaction_event", sa.String(255), nullable=True))
        batch.create_index("ix_session_participants_reaction_event", ["reaction_event"])


def downgrade() -> None:
    with op.batch_alter_table("session_participants") as batch:
        batch.drop_index("ix_session_participants_reaction_event")
        batch.drop_column("reaction_event")
    with op.batch_alter_table("review_sessions") as batch:
        batch.drop_index("ix_review_sessions_announce_event")
        batch.drop_column("announce_event")
