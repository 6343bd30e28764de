"""Shared fixtures for unit and storage tests: a bot with its real dispatcher and
database (SQLite in a temp dir), driven without Matrix."""
from __future__ import annotations

import pytest

from support.chat import Chat, make_services


@pytest.fixture
async def services(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "reminders"])
    yield services
    await services.db.dispose()


@pytest.fixture
def chat(services):
    return Chat(services)


# --- figures (hit rates and the like) shown at the end of every run, also in CI ----------
_FIGURES: list[str] = []


@pytest.fixture
def report_figure():
    """Call with one line (e.g. a relevance hit rate); it is printed in the run's summary."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
