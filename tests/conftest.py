"""Shared fixtures for unit and storage tests: a bot with its real dispatcher and
database (SQLite in a temp dir), driven without Matrix."""
from __future__ import annotations

import itertools
import os

import pytest

from bot.app import build_services
from bot.framework.dispatcher import Dispatcher
from bot.framework.messages import Incoming
from config.settings import load_settings

_ids = itertools.count()


def make_settings(tmp_path, **bot):
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = str(tmp_path / "data")
    try:
        settings = load_settings()
    finally:
        del os.environ["DSIH_BOT__STORAGE__DATA_DIR"]
    settings.bot.language = bot.pop("language", "en")
    settings.bot.admins = bot.pop("admins", ["@admin:test"])
    settings.bot.facilitators = bot.pop("facilitators", ["@facil:test"])
    settings.storage.load_sample_data = bot.pop("load_sample_data", False)
    for key, value in bot.items():
        setattr(settings.bot, key, value)
    return settings


@pytest.fixture
async def services(tmp_path):
    services = await build_services(make_settings(tmp_path), bot_user_id="@bot:test",
                                    modules=["core", "reminders"])
    yield services
    await services.db.dispose()


class Chat:
    """Send text as a user, get the bot's replies' markdown back."""

    def __init__(self, services):
        self.services = services
        self.dispatcher = Dispatcher(services)

    async def send(self, body: str, *, sender: str = "@alice:test", room: str = "!room:test", direct=False,
                   power_level: int = 0, **kw):
        msg = Incoming(sender=sender, room_id=room, event_id=f"$e{next(_ids)}", body=body, is_direct=direct,
                       power_level=power_level, **kw)
        out = await self.dispatcher.handle(msg)
        return out

    async def text(self, body: str, **kw) -> str:
        out = await self.send(body, **kw)
        return "\n\n".join(o.markdown for o in out or [])


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
