"""Living labs: facilities in Dutch (`facilities_nl`), filled for bundled labs whose English
facilities are unchanged. The labs search index is rebuilt at start-up (index version).

Revision ID: 0008_labs_facilities_nl
Revises: 0005_funding_data
"""
import json
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import op

revision = "0008_labs_facilities_nl"
down_revision = "0005_funding_data"
branch_labels = None
depends_on = None

_BUNDLED = Path(__file__).resolve().parents[1] / "data" / "labs.yaml"


def upgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        batch.add_column(sa.Column("facilities_nl", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
    try:
        bundled = {r["id"]: r for r in yaml.safe_load(_BUNDLED.read_text(encoding="utf-8"))["labs"]}
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return
    bind = op.get_bind()
    labs = sa.table("labs", sa.column("id", sa.String), sa.column("facilities", sa.JSON),
                    sa.column("facilities_nl", sa.JSON))
    for lab_id, facilities in bind.execute(sa.select(labs.c.id, labs.c.facilities)).all():
        rec = bundled.get(lab_id)
        if isinstance(facilities, str):
            facilities = json.loads(facilities)
        if rec and rec.get("facilities_nl") and list(facilities or []) == list(rec.get("facilities") or []):
            bind.execute(labs.update().where(labs.c.id == lab_id).values(facilities_nl=rec["facilities_nl"]))


def downgrade() -> None:
    with op.batch_alter_table("labs") as batch:
        batch.drop_column("facilities_nl")
