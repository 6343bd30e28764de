"""Shared fixtures. Tests live in one folder per layer or capability (kernel, runtime,
storage_core, and one per capability); each may be a unit, storage or end-to-end test, so
every folder sees every fixture:
- here: a bot with its real dispatcher and database (SQLite in a temp dir), no Matrix;
- support/db_fixtures.py: `db`, on SQLite and on a real PostgreSQL started here;
- support/e2e_fixtures.py: a real Synapse, the bot as a subprocess, real Matrix users."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings

from support.chat import Chat, make_services

# Speed is measured in bench/, never asserted in tests: no per-example deadline and no
# "too slow" health check, which fail on a busy machine without anything being wrong.
hypothesis_settings.register_profile("dsih", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("dsih")

pytest_plugins = ["support.db_fixtures", "support.e2e_fixtures"]


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
def report_figure(request):
    """Call with one line (e.g. a relevance hit rate); it is printed in the run's summary.
    Carried in the test report, so lines from pytest-xdist workers reach the summary too."""
    return lambda line: request.node.user_properties.append(("figure", line))


def pytest_runtest_logreport(report):
    if report.when == "call":
        _FIGURES.extend(value for name, value in report.user_properties if name == "figure")


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
