"""Wiring shared by `run` and `console`: settings -> database (migrated) -> registry ->
services -> dispatcher, scheduler and outbox."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from bot.framework.context import Services
from bot.framework.dispatcher import Dispatcher
from bot.framework.roles import Access
from commands import build_registry, settings_problems
from config.settings import ConfigError, Settings
from storage.db import Database

log = logging.getLogger(__name__)


async def build_services(settings: Settings, *, bot_user_id: str, modules: list[str] | None = None) -> Services:
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.storage.effective_database_url)
    await db.upgrade()
    registry = build_registry(modules)
    problems = settings_problems(registry, settings)
    if problems:
        raise ConfigError("; ".join(problems))
    access = Access(admins=settings.bot.admins, facilitators=settings.bot.facilitators,
                    allowed_users=settings.bot.allowed_users, own_server=settings.server_name)
    services = Services(settings=settings, db=db, registry=registry, access=access, bot_user_id=bot_user_id,
                        started_at=datetime.now(timezone.utc))
    if settings.bot.pretend_now is not None:
        # From the same monotonic instant as the uptime, so "running since" is pretend_now itself.
        services.clock = pretend_clock(settings.bot.pretend_now, services.started_monotonic)
        log.warning("pretending the time is %s (bot.pretend_now; for tests and demos)", settings.bot.pretend_now)
    for hook in registry.startup_hooks:
        await hook(services)
    return services


def pretend_clock(start: datetime, t0: float | None = None) -> Callable[[], datetime]:
    """A clock that reads `start` at monotonic time `t0` (default now) and advances with real time."""
    t0 = time.monotonic() if t0 is None else t0
    start = start.astimezone(timezone.utc)
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def build_dispatcher(services: Services) -> Dispatcher:
    return Dispatcher(services)


def warm_caches() -> None:
    """Load what the first command would otherwise load (the language vocabulary reads the
    bundled YAML: ~1 s), so the first user after a start is answered as fast as the rest.
    Runs in a thread while the bot logs in and syncs."""
    from bot.framework.i18n import language_signal
    from storage import geo, topics

    language_signal("klimaat subsidie gemeente")
    topics.expand_query("klimaatadaptatie energie")
    topics.find_in_text("climate adaptation")
    topics.suggest("klimaat")
    geo.gazetteer()
