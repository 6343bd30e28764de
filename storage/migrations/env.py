"""Alembic environment: migrations always run on a connection handed in by storage.db,
so the async engine (SQLite or PostgreSQL) is used as configured by the bot."""
from alembic import context

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `dsih-bot db upgrade` (storage.db.Database.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
