"""Brokerage: organisation profiles, interests, introductions, calendar feed tokens.

Revision ID: 0011_brokerage
Revises: 0010_labs_history
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0011_brokerage"
down_revision = "0010_labs_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broker_profiles",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("named", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "broker_interests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("ref_kind", sa.String(20), nullable=False),
        sa.Column("ref_id", sa.String(120), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "ref_kind", "ref_id", name="uq_broker_interests_once"),
    )
    op.create_index("ix_broker_interests_ref", "broker_interests", ["ref_kind", "ref_id"])
    op.create_table(
        "broker_introductions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("requester", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("ref_kind", sa.String(20), nullable=False),
        sa.Column("ref_id", sa.String(120), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("requester", "target", "ref_kind", "ref_id", name="uq_broker_introductions_once"),
    )
    op.create_index("ix_broker_introductions_target", "broker_introductions", ["target"])
    op.create_table(
        "broker_calendar_tokens",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_broker_calendar_tokens_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("broker_calendar_tokens")
    op.drop_index("ix_broker_introductions_target", "broker_introductions")
    op.drop_table("broker_introductions")
    op.drop_index("ix_broker_interests_ref", "broker_interests")
    op.drop_table("broker_interests")
    op.drop_table("broker_profiles")
