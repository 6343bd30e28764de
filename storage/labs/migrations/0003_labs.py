"""Living labs: labs, lab_requests and the full-text index labs_search
(SQLite: FTS5 virtual table; PostgreSQL: table with tsvector + GIN index).

Revision ID: 0003_labs
Revises: 0002_funding
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime
from storage.search import SearchIndex

revision = "0003_labs"
down_revision = "0002_funding"
branch_labels = None
depends_on = None

# Same table and fields as storage.labs_search.LABS_INDEX (kept literal here on purpose).
_INDEX = SearchIndex("labs_search", {"name": 5.0, "themes": 3.0, "facilities": 2.0, "body": 1.0})


def upgrade() -> None:
    op.create_table(
        "labs",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("host_organisation", sa.String(500), nullable=False),
        sa.Column("ecosystem", sa.String(200), nullable=True),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("province", sa.String(50), nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("facilities", sa.JSON, nullable=False),
        sa.Column("target_users", sa.JSON, nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("enoll_member", sa.Boolean, nullable=False),
        sa.Column("cost_note", sa.Text, nullable=True),
        sa.Column("website", sa.String(500), nullable=True),
        sa.Column("contact", sa.String(255), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("description_nl", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("last_checked", sa.Date, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_labs_province", "labs", ["province"])
    op.create_index("ix_labs_lat_lon", "labs", ["latitude", "longitude"])
    op.create_table(
        "lab_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab_id", sa.String(100), sa.ForeignKey("labs.id", name="fk_lab_requests_lab_id_labs"),
                  nullable=False),
        sa.Column("requester", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("responder", sa.String(255), nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_lab_requests_requester", "lab_requests", ["requester"])
    op.create_index("ix_lab_requests_status", "lab_requests", ["status"])
    for stmt in _INDEX.ddl(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _INDEX.drop_ddl(op.get_bind().dialect.name):
        op.execute(stmt)
    op.drop_index("ix_lab_requests_status", "lab_requests")
    op.drop_index("ix_lab_requests_requester", "lab_requests")
    op.drop_table("lab_requests")
    op.drop_index("ix_labs_lat_lon", "labs")
    op.drop_index("ix_labs_province", "labs")
    op.drop_table("labs")
