"""What a command handler gets: who asked, where, in which language, the database
session of this command, and ways to answer. Nothing here knows about Matrix."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework import paging
from bot.framework.messages import Attachment, Incoming, Outgoing
from bot.framework.paging import LazyItems, paginate  # noqa: F401 - the API handlers and tests use
from bot.framework.roles import Access, Role
from bot.framework.i18n import Translator
from bot.framework.render import md_escape, md_link
from storage.models.core import UserPrefs
from storage.privacy import is_former

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.framework.command import Command, Registry
    from bot.framework.jobs import Timers
    from bot.framework.metrics import Metrics
    from config.settings import Settings
    from storage.db import Database


@dataclass
class Services:
    """Long-lived things shared by all commands (built once at start-up)."""
    settings: "Settings"
    db: "Database"
    registry: "Registry"
    access: Access
    bot_user_id: str
    started_at: datetime
    timers: "Timers | None" = None      # the runtime's scheduler; None: rows wait for the next start
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    metrics: "Metrics" = field(default_factory=lambda: _metrics())
    extras: dict[str, Any] = field(default_factory=dict)  # per-capability caches (search index, gazetteer)
    started_monotonic: float = field(default_factory=time.monotonic)

    def uptime(self) -> timedelta:
        """How long this process has run: from a monotonic start, so neither bot.pretend_now
        nor a wall-clock jump (NTP, suspend) bends it."""
        return timedelta(seconds=max(0.0, time.monotonic() - self.started_monotonic))

    def command_name(self, text: str, lang: str) -> str:
        """`funding set` as a reader of `lang` types it, with the prefix: `!subsidie wijzig`."""
        from bot.framework.help import command_text
        return self.settings.bot.command_prefix + command_text(self.registry, text, lang)

    def running_since(self) -> datetime:
        """The start on the bot's own clock (the pretend clock under bot.pretend_now); the
        uptime is read first so the clock's later reading never puts the start before it."""
        up = self.uptime()
        return self.clock() - up


def _metrics():
    from bot.framework.metrics import Metrics
    return Metrics()


class Context:
    def __init__(self, incoming: Incoming, services: Services, db: AsyncSession):
        self.incoming = incoming
        self.services = services
        self.db = db
        self.settings = services.settings
        self.command: "Command | None" = None
        self.invoked_as: str | None = None
        self.invoked_sub: str | None = None  # the subcommand word as typed (e.g. "nieuw")
        self.lang = services.settings.bot.language
        self.tz = services.settings.bot.timezone
        self.t = Translator(self.lang, self.tz)
        self.role = services.access.role_of(incoming.sender, incoming.power_level,
                                            room_grants=incoming.room_grants_roles)
        self.reply_to_event: str | None = incoming.event_id
        self.outgoing: list[Outgoing] = []
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        # Text that may answer a waiting dialogue (no prefix used), and whether it was tried.
        self.dialogue_text: str | None = None
        self.dialogue_tried = False

    @property
    def sender(self) -> str:
        return self.incoming.sender

    @property
    def now(self) -> datetime:
        return self.services.clock()

    def command_name(self, text: str) -> str:
        """A command to show in a reply, in the reply's language: `!subsidie wijzig` where an
        English reply says `!funding set` (bot.framework.help.command_text)."""
        return self.services.command_name(text, self.t.lang)

    def set_language(self, lang: str, tz: str | None = None) -> None:
        self.lang = lang
        self.tz = tz or self.tz
        self.t = Translator(self.lang, self.tz)

    def has_role(self, role: Role) -> bool:
        return self.role >= role

    # -- answering ---------------------------------------------------------
    async def reply(self, markdown: str, *, notice: bool = True, mentions: tuple[str, ...] = (),
                    attachment: "Attachment | None" = None) -> None:
        """Answer the command in its room (and thread), as a reply to it. In a scheduled
        job: a reply to the command that planned it, in its room."""
        self.outgoing.append(Outgoing(markdown, room_id=self.incoming.room_id, reply_to=self.reply_to_event,
                                      thread_root=self.incoming.thread_root, notice=notice,
                                      mentions=tuple(mentions), attachment=attachment))

    def mention(self, user_id: str) -> str:
        """A pill for `user_id`, labelled with their display name when the transport knows
        it (pass the ID in `mentions=` too, so the user is notified)."""
        if is_former(user_id):
            return md_escape(self.t("a former member"))
        lookup = self.services.extras.get("display_name_of")
        name = lookup(user_id) if lookup else None
        return md_link(name or user_id, f"https://matrix.to/#/{user_id}")

    def is_global(self, role: Role) -> bool:
        """A configured role (bot.admins / bot.facilitators), not one borrowed from a room."""
        return self.services.access.global_role(self.sender) >= role

    async def reply_pages(self, header: str, items: Sequence[str], footer: str = "") -> None:
        """Answer with a list, one page now and the rest kept for `!more` (never cut mid-item).

        Only the first page's items are read before the reply is queued: the others are
        rendered and stored after the reply is committed, while it is on its way, so a list
        of 40 answers as fast as a list of 5. Pass a `LazyItems` to render items only when
        read. Pages of an answer whose storing a crash cut short are dropped at the next
        start (bot.framework.paging.forget_all), never shown for a later answer."""
        more = self.command_name("more")
        page_size = self.settings.bot.page_size
        hint = (lambda count: self.t.n("More: `{command}` ({count} more result)",
                                       "More: `{command}` ({count} more results)", count, command=more))
        total = len(items)
        head = [items[i] for i in range(min(total, page_size))]
        chunks = paging.chunks(header, head, footer, page_size, hint, total=total)
        first = chunks[0]
        remaining = total - len(first)
        await self.reply(paging.page(header, first, footer, hint, remaining))
        paging.supersede(self.incoming.sender, self.incoming.room_id)
        if not remaining:
            await self.store_pages([])
            return
        user_id, room_id, now, services = self.incoming.sender, self.incoming.room_id, self.now, self.services
        start = len(first)

        async def keep_the_rest() -> None:
            # The reply's sender runs on this event loop: give it a turn between items, so the
            # reply is on the wire while the rest is rendered, not after.
            rest = []
            for i in range(start, total):
                await asyncio.sleep(0)
                rest.append(items[i])
            await asyncio.sleep(0)
            pages = paginate("", rest, footer, page_size, hint)
            await paging.keep(services.db, user_id, room_id, pages, now)

        self.after_commit.append(keep_the_rest)

    async def store_pages(self, pages: list[str]) -> None:
        """Keep `pages` for `!more` (none: forget earlier ones): one statement, no read first."""
        paging.supersede(self.incoming.sender, self.incoming.room_id)
        await paging.store(self.db, self.incoming.sender, self.incoming.room_id, pages, self.now)

    def send_to_room(self, room_id: str, markdown: str, *, mentions: tuple[str, ...] = (), notice: bool = True,
                     attachment: "Attachment | None" = None, event_type: str = "m.room.message",
                     extra_content: dict | None = None) -> Outgoing:
        out = Outgoing(markdown, room_id=room_id, mentions=tuple(mentions), notice=notice,
                       attachment=attachment, event_type=event_type, extra_content=extra_content)
        self.outgoing.append(out)
        return out

    def send_to_user(self, user_id: str, markdown: str, *, attachment: "Attachment | None" = None,
                     notice: bool = True) -> Outgoing:
        """A direct message; the runtime finds or creates the DM room."""
        out = Outgoing(markdown, to_user=user_id, attachment=attachment, notice=notice)
        self.outgoing.append(out)
        return out

    def open_room(self, invite: tuple[str, ...], name: str, markdown: str, *, topic: str = "") -> Outgoing:
        """A new private room with `invite` (the bot opens it), and `markdown` as its first
        message: an effect like a message (bot.framework.effects.OPEN_ROOM), done once."""
        from bot.framework.effects import open_room_outgoing
        out = open_room_outgoing(markdown, invite=tuple(invite), name=name, topic=topic)
        self.outgoing.append(out)
        return out

    # -- scheduled work (bot.framework.jobs): rows now, timers after commit ------------------
    async def schedule(self, kind: str, run_at: datetime, payload: dict, **kwargs):
        from bot.framework import jobs
        return await jobs.schedule(self, kind, run_at, payload, **kwargs)

    async def cancel_jobs(self, *, group: str | None = None, job_ids: list[str] | None = None,
                          note: str = "cancelled") -> int:
        from bot.framework import jobs
        return await jobs.cancel(self, group=group, job_ids=job_ids, note=note)

    def arm_timer(self, job_id: str, run_at: datetime) -> None:
        """After commit, arm a row this handler wrote itself (the digests' recurring run)."""
        from bot.framework import jobs
        jobs.arm_after_commit(self, job_id, run_at)

    def drop_timers(self, job_ids: list[str]) -> None:
        from bot.framework import jobs
        jobs.drop_timers(self, job_ids)

    async def translator_for(self, user_id: str) -> Translator:
        """The language and zone another user chose (for notifications sent to them)."""
        prefs = await self.db.get(UserPrefs, user_id)
        return Translator((prefs and prefs.language) or self.settings.bot.language,
                          (prefs and prefs.timezone) or self.settings.bot.timezone)
