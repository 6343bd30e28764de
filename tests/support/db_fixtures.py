"""Storage tests (a pytest plugin, see tests/conftest.py) run twice: on SQLite and on a real PostgreSQL started here.
In CI (CI=true) a missing PostgreSQL is a failure, never a silent skip."""
from __future__ import annotations

import itertools

import pytest

from storage.db import Database
from support.postgres import require_postgres

_n = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    server = require_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t{next(_n)}_{request.node.name[:20].replace('[', '_').replace(']', '').replace('-', '_').lower()}")
    database = Database(url)
    await database.upgrade()
    yield database
    await database.dispose()
