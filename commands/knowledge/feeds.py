"""Partners' feeds (config `knowledge.feeds`): one scheduled job polls every feed that is
due, with conditional requests (ETag / If-Modified-Since), parses RSS and Atom with
feedparser and turns new entries into knowledge items, deduplicated by entry id and by
normalised URL (also against shares and other feeds). A feed that fails backs off (its
state row keeps last_ok, failures, next attempt and the error), is logged and listed in
`!feeds`, and never stops the others. Part of the "knowledge" cog (commands/knowledge/commands.py)."""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import feedparser
from sqlalchemy import delete, or_, select, update

from bot import __version__
from bot.framework import Role
from bot.framework.render import md_escape, md_link
from bot.framework.timeparse import human_duration
from commands.knowledge.commands import cog
from storage.knowledge.records import (
    BadURL, clean_url, guess_language, html_to_text, index_item, infer_topics, merge_into, url_key,
)
from storage.models.core import ScheduledJob
from storage.knowledge.models import KnowledgeFeed, KnowledgeItem

log = logging.getLogger(__name__)

POLL_KIND = "knowledge.poll"
POLL_GROUP = "knowledge:poll"
FETCH_TIMEOUT = 30.0
MAX_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 50          # per feed per poll: a feed's first poll brings its recent entries, not its archive
CONCURRENT_FETCHES = 4
MAX_BACKOFF = timedelta(hours=24)
USER_AGENT = f"dsih-bot/{__version__} feed reader (Dutch Societal Innovation Hub)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class FeedError(Exception):
    """Why a poll failed, worded for the `!feeds` list and the log."""


@dataclass
class Fetched:
    status: int                 # 200 or 304
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


async def fetch(http: aiohttp.ClientSession, url: str, etag: str | None, last_modified: str | None) -> Fetched:
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)) as resp:
            if resp.status == 304:
                return Fetched(304, etag=resp.headers.get("ETag") or etag,
                               last_modified=resp.headers.get("Last-Modified") or last_modified)
            if resp.status != 200:
                raise FeedError(f"HTTP {resp.status} {resp.reason or ''}".strip())
            body = await resp.content.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise FeedError(f"the feed is larger than {MAX_BYTES // (1024 * 1024)} MB")
            return Fetched(200, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified"),
                           resp.headers.get("Content-Type"))
    except asyncio.TimeoutError:
        raise FeedError(f"no answer within {int(FETCH_TIMEOUT)} s") from None
    except aiohttp.ClientError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}"[:300]) from None


def parse(fetched: Fetched, url: str) -> Any:
    headers = {"content-location": url}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    parsed = feedparser.parse(fetched.body or b"", response_headers=headers)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception")
        raise FeedError(f"not a valid RSS or Atom feed ({str(reason)[:200] if reason else 'no entries'})")
    return parsed


@dataclass
class Entry:
    entry_id: str
    url: str
    key: str
    title: str
    summary: str


def entries_of(parsed: Any) -> list[Entry]:
    out, seen = [], set()
    for raw in parsed.entries[:MAX_ENTRIES]:
        link = raw.get("link") or raw.get("id") or ""
        try:
            link = clean_url(link)
            key = url_key(link)
        except BadURL:
            continue  # an entry without a web link cannot be a knowledge item
        if key in seen:
            continue
        seen.add(key)
        title = html_to_text(raw.get("title"), 500) or link[:500]
        content = raw.get("content") or []
        summary = html_to_text(raw.get("summary") or (content[0].get("value") if content else ""), 1000)
        out.append(Entry((raw.get("id") or link)[:1000], link, key, title if len(title) >= 3 else link[:500], summary))
    return out


async def ingest(db, feed, parsed: Any, now: datetime, moderation: bool, entries: list[Entry] | None = None) -> int:
    """Add the feed's new entries as knowledge items; returns how many were new."""
    url = str(feed.url)
    entries = entries_of(parsed) if entries is None else entries
    if not entries:
        return 0
    keys = [e.key for e in entries]
    ids = [e.entry_id for e in entries]
    known = list((await db.scalars(select(KnowledgeItem).where(or_(
        KnowledgeItem.url_key.in_(keys), (KnowledgeItem.feed == url) & KnowledgeItem.entry_id.in_(ids))))).all())
    by_key = {r.url_key: r for r in known}
    by_entry = {r.entry_id: r for r in known if r.feed == url}
    meta = parsed.get("feed", {})
    organisation = feed.organisation or html_to_text(meta.get("title"), 300) or None
    feed_lang = (meta.get("language") or "")[:2].lower()
    new = 0
    for e in entries:
        found = by_entry.get(e.entry_id) or by_key.get(e.key)
        if found is not None:
            # Same resource from a share or another feed: one item, with this feed's topics added.
            if merge_into(found, topic_ids=list(feed.topics), summary=e.summary or None):
                await index_item(db, found)
            continue
        topic_ids = list(dict.fromkeys([*feed.topics, *infer_topics(e.title, e.summary)]))
        lang = feed_lang if feed_lang in ("nl", "en") else guess_language(e.title, e.summary)
        item = KnowledgeItem(title=e.title, summary=e.summary or None, url=e.url, url_key=e.key, kind=feed.kind,
                             topics=topic_ids, organisation=organisation, language=lang, feed=url,
                             entry_id=e.entry_id, shared_at=now, status="pending" if moderation else "published")
        db.add(item)
        await db.flush()
        await index_item(db, item)
        by_key[e.key] = by_entry[e.entry_id] = item
        new += 1
    return new


def backoff(interval: timedelta, failures: int) -> timedelta:
    return min(interval * (2 ** max(0, failures - 1)), max(MAX_BACKOFF, interval))


async def poll_feeds(services, db, now: datetime, *, force: bool = False) -> dict[str, int | str]:
    """Poll every configured feed that is due (all with `force`): the network first, with
    nothing written yet (no database lock is held while a slow feed answers), then the
    writes in `db`. Returns url -> new items, or the error text of a feed that failed."""
    settings = services.settings.knowledge
    interval = settings.poll_interval
    slack = min(interval / 10, timedelta(seconds=60))
    urls = [str(f.url) for f in settings.feeds]
    states = {s.url: s for s in (await db.scalars(select(KnowledgeFeed).where(KnowledgeFeed.url.in_(urls)))).all()}
    due, seen = [], set()
    for feed in settings.feeds:
        if str(feed.url) in seen:
            continue  # listed twice in the config: one state row, one poll
        seen.add(str(feed.url))
        state = states.get(str(feed.url))
        if force or state is None or state.next_attempt is None or _aware(state.next_attempt) <= now + slack:
            due.append((feed, state))
    if not due:
        return {}
    slots = asyncio.Semaphore(CONCURRENT_FETCHES)

    async def one(http, feed, state):
        async with slots:
            fetched = await fetch(http, str(feed.url), state.etag if state else None,
                                  state.last_modified if state else None)
            return fetched, (parse(fetched, str(feed.url)) if fetched.status == 200 else None)

    async with aiohttp.ClientSession() as http:
        outcomes = await asyncio.gather(*(one(http, f, s) for f, s in due), return_exceptions=True)
    results: dict[str, int | str] = {}
    for (feed, state), outcome in zip(due, outcomes):
        url = str(feed.url)
        if state is None:
            state = KnowledgeFeed(url=url, failures=0, items=0)
            db.add(state)
        state.last_poll = now
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            fetched, parsed = outcome
            entries = entries_of(parsed) if parsed is not None else []
        except Exception as exc:  # noqa: BLE001 - one feed's trouble is recorded, never stops the others
            message = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
            state.failures = (state.failures or 0) + 1
            state.last_error = message[:1000]
            state.next_attempt = now + backoff(interval, state.failures)
            services.metrics.feed_polls.labels("failed").inc()
            log.warning("feed %s failed (%d in a row; next attempt %s): %s", url, state.failures,
                        state.next_attempt.isoformat(timespec="seconds"), message)
            results[url] = message
            continue
        # Database errors are not the feed's fault: they fail the job, which the scheduler retries.
        moderation = settings.moderation if feed.moderation is None else feed.moderation
        new = await ingest(db, feed, parsed, now, moderation, entries) if parsed is not None else 0
        if parsed is not None:
            state.title = html_to_text(parsed.get("feed", {}).get("title"), 500) or state.title
        state.etag, state.last_modified = fetched.etag, fetched.last_modified
        state.last_ok, state.failures, state.last_error = now, 0, None
        state.next_attempt = now + interval
        state.items = (state.items or 0) + new
        services.metrics.feed_polls.labels("not_modified" if fetched.status == 304 else "fetched").inc()
        log.info("feed %s: %s, %d new item(s)", url, "not modified" if fetched.status == 304 else "fetched", new)
        results[url] = new
    await db.flush()
    return results


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the job
@cog.job(POLL_KIND)
async def poll_job(ctx, row) -> None:
    """Poll the due feeds, then plan the next poll (a new row, so each run is its own
    exactly-once occurrence) and forget the finished ones."""
    feeds = ctx.settings.knowledge.feeds
    if not feeds:
        return
    now = ctx.now
    await poll_feeds(ctx.services, ctx.db, now)
    await ctx.db.execute(delete(ScheduledJob).where(ScheduledJob.group_key == POLL_GROUP, ScheduledJob.id != row.id,
                                                    ScheduledJob.status != "pending"))
    nxt = now + ctx.settings.knowledge.poll_interval
    await ctx.schedule(POLL_KIND, nxt, {}, job_id=_job_id(), group=POLL_GROUP,
                       owner=ctx.services.bot_user_id, room_id="")


def _job_id() -> str:
    return f"knowledge-poll-{secrets.token_hex(6)}"


def _job_row(services, run_at: datetime) -> ScheduledJob:
    return ScheduledJob(id=_job_id(), kind=POLL_KIND, run_at=run_at, payload={}, status="pending",
                        group_key=POLL_GROUP, owner=services.bot_user_id, room_id="", attempts=0)


@cog.on_startup
async def plan_polling(services) -> None:
    """One pending poll job while feeds are configured (due now if the interval shrank),
    none when there are no feeds. The scheduler arms it when it starts."""
    now = services.clock()
    feeds = services.settings.knowledge.feeds
    async with services.db.transaction() as session:
        pending = list((await session.scalars(select(ScheduledJob).where(
            ScheduledJob.group_key == POLL_GROUP, ScheduledJob.status == "pending"))).all())
        if not feeds:
            if pending:
                await session.execute(update(ScheduledJob).where(ScheduledJob.id.in_([p.id for p in pending]))
                                      .values(status="cancelled", note="no feeds configured"))
            return
        if not pending:
            session.add(_job_row(services, now))
            return
        for job in pending:
            if _aware(job.run_at) > now + services.settings.knowledge.poll_interval:
                job.run_at = now


# --------------------------------------------------------------------------- !feeds
@cog.command("feeds", role=Role.FACILITATOR)
async def feeds(ctx):
    """The configured feeds: last poll, last success, items brought in and any error (facilitators)."""
    t = ctx.t
    configured = ctx.settings.knowledge.feeds
    if not configured:
        await ctx.reply(t("No feeds are configured (`knowledge.feeds` in the configuration)."))
        return
    states = {s.url: s for s in (await ctx.db.scalars(select(KnowledgeFeed).where(
        KnowledgeFeed.url.in_([str(f.url) for f in configured])))).all()}
    never = t("never")
    lines = []
    # Feeds in trouble first: they are what a facilitator opens this list for.
    ordered = sorted(configured, key=lambda f: -((states.get(str(f.url)).failures or 0) if states.get(str(f.url)) else 0))
    for n, feed in enumerate(ordered, 1):
        url = str(feed.url)
        s = states.get(url)
        head = f"**{n}. {md_link(s.title if s and s.title else url, url)}**"
        facts = [t("last poll {when}", when=t.datetime(s.last_poll) if s and s.last_poll else never),
                 t("last success {when}", when=t.datetime(s.last_ok) if s and s.last_ok else never),
                 t.n("{count} item brought in", "{count} items brought in", s.items if s else 0)]
        line = f"{head}  \n" + " · ".join(facts)
        if s and s.failures:
            line += "  \n⚠️ " + t.n("failed {count} time in a row: {error}; next attempt {when}",
                                   "failed {count} times in a row: {error}; next attempt {when}", s.failures,
                                   error=md_escape((s.last_error or "")[:300]),
                                   when=t.datetime(s.next_attempt) if s.next_attempt else never)
        elif s is None or s.last_poll is None:
            line += "  \n" + t("not polled yet")
        lines.append(line)
    interval = ctx.settings.knowledge.poll_interval
    await ctx.reply_pages(t.n("{count} feed, polled every {interval}:", "{count} feeds, polled every {interval}:",
                              len(configured), interval=human_duration(interval, ctx.lang)), lines)

