"""Sending digests and deadline alerts, exactly once and batched.

One recurring scheduler job ("digest-run", every `digests.run_every`) picks every
subscription whose next_due_at has passed — also those that fell due while the bot was
down, once — and composes all their digests from one `gather` (a fixed number of
queries, see storage/digests/compose.py), then writes them in chunks. Per subscription
and period (the due occurrence) the new watermark, the DigestRecord and the outbox rows
are committed in ONE transaction; the outbox key is `digest:<subscription>:<period>`, so
a resend after a crash reuses the same transaction ids and a period can never be recorded
twice (unique constraint).

Change alerts (issue 17, section 4): a followed record's deadline moved earlier is told on
its own on the next pass of the run (every `digests.run_every`), not at the subscriber's
digest time; `digest_change_alerts` holds, per subscriber and change, that it was told (by
the alert, or by a digest that came first), written in the transaction of the outbox rows.
The digest after an alert lists the change under "Changed", marked "alerted on <date>",
and it does not make that digest worth sending: the digest stays the complete account of
what changed in its period, but the alert is not repeated as news."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.framework import effects
from bot.framework.digest_parts import change_key
from bot.framework.messages import Outgoing
from bot.framework.i18n import Translator
from commands.digests.render import render_alert, render_change_alert, render_digest
from storage.digests.compose import gather, select_for, topics_of
from storage.digests.schedule import next_due
from storage.models.core import ScheduledJob, UserPrefs
from storage.digests.models import ChangeAlert, DeadlineAlert, DigestRecord, DigestSubscription

log = logging.getLogger(__name__)

RUN_KIND = "digest-run"
RUN_JOB_ID = RUN_KIND   # one recurring row of its own kind
# A timer at the next due time across all subscriptions (one row per due moment, so every
# subscription due at 09:00 shares it): a digest due at 09:00 goes out at 09:00, not on
# the next pass of the recurring run, which stays as the safety net (and alerts).
DUE_KIND = "digest-due"
CHUNK = 500  # subscriptions per write transaction: a big run never holds the write lock long
ALERT_EVERY = timedelta(minutes=15)  # deadline alerts are checked at most this often
MANY = 500  # above this many ids, load the whole (small) table instead of a huge IN (...)
MAX_LOOKBACK = timedelta(days=62)  # a digest never reaches further back than this
YIELD_EVERY = 50  # digests composed or rendered between two yields to the event loop
# A deadline moved earlier is alerted on its own when the change is at most this old (a bot
# that was down longer tells it in the next digest only, as before).
CHANGE_ALERT_LOOKBACK = timedelta(days=3)


@dataclass
class RunReport:
    due: int = 0
    sent: int = 0
    empty: int = 0
    paused: int = 0
    failed: int = 0


def run_rule(services) -> dict:
    every = max(1, int(services.settings.digests.run_every.total_seconds()))
    return {"freq": "seconds", "interval": every, "skip_missed": True}


async def ensure_run_job(session, services, now: datetime) -> bool:
    """Make sure the recurring digest run exists (written in the caller's transaction).
    True when it was (re)created and needs arming."""
    row = await session.get(ScheduledJob, RUN_JOB_ID)
    rule = run_rule(services)
    if row is None:
        session.add(ScheduledJob(id=RUN_JOB_ID, kind=RUN_KIND, run_at=now, payload={}, status="pending",
                                 owner=services.bot_user_id, room_id="", recurrence=rule, attempts=0))
        return True
    if row.status != "pending" or row.recurrence != rule:
        row.status, row.recurrence, row.attempts, row.last_error = "pending", rule, 0, None
        row.run_at = min(row.run_at, now)
        return True
    return False


def translator_of(sub: DigestSubscription, prefs: dict, settings) -> Translator:
    if sub.is_room:
        return Translator(sub.language or settings.bot.language, sub.timezone or settings.bot.timezone)
    p = prefs.get(sub.subscriber)
    return Translator((p and p.language) or settings.bot.language, (p and p.timezone) or settings.bot.timezone)


def zone_of(sub: DigestSubscription, prefs: dict, settings) -> str:
    if sub.is_room:
        return sub.timezone or settings.bot.timezone
    p = prefs.get(sub.subscriber)
    return (p and p.timezone) or settings.bot.timezone


def due_after(sub: DigestSubscription, after: datetime, tz: str) -> datetime:
    return next_due(after, sub.frequency, sub.at_time, tz, weekday=sub.weekday, day_of_month=sub.day_of_month)


async def load_prefs(session, user_ids: list[str]) -> dict[str, UserPrefs]:
    query = select(UserPrefs)
    if len(user_ids) <= MANY:
        query = query.where(UserPrefs.user_id.in_(user_ids))
    return {p.user_id: p for p in (await session.scalars(query)).all()}


def outgoing_for(sub: DigestSubscription, markdown: str) -> Outgoing:
    if sub.is_room:
        return Outgoing(markdown, room_id=sub.subscriber)
    return Outgoing(markdown, to_user=sub.subscriber)


async def run_due(services, now: datetime) -> RunReport:
    """Send every digest that is due at `now`."""
    settings = services.settings
    cfg = settings.digests
    prefix = settings.bot.command_prefix
    report = RunReport()
    async with services.db.session() as session:
        subs = list((await session.scalars(select(DigestSubscription).where(
            DigestSubscription.next_due_at <= now).order_by(DigestSubscription.next_due_at,
                                                             DigestSubscription.id))).all())
        if not subs:
            return report
        report.due = len(subs)
        active = [s for s in subs if not (s.paused_until and s.paused_until > now)]
        prefs = await load_prefs(session, [s.subscriber for s in subs if not s.is_room])
        # One long pause or a monthly subscriber must not drag the whole run's reads back for ever.
        since = max(min(s.watermark for s in active), now - MAX_LOOKBACK) if active else now
        cand = await gather(session, since, topics_of(active), now, cfg.horizon,
                            services.registry.contributions("digest")) if active else None
        alerted = await load_alerted(session, [s.subscriber for s in active],
                                     [change_key(c) for c in cand.changes] if cand else [])
    # Compose everything in memory, then write chunk by chunk.
    plans = []
    for n, sub in enumerate(subs):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # a big run must not freeze command handling
        try:
            period = sub.next_due_at
            nxt = due_after(sub, max(period, now), zone_of(sub, prefs, settings))
            if cand is None or (sub.paused_until and sub.paused_until > now):
                report.paused += 1
                plans.append((sub, {"id": sub.id, "next_due_at": nxt}, None, None))
                continue
            digest = select_for(cand, sub.topics, sub.watermark, cfg.max_items, alerted.get(sub.subscriber))
            key = f"digest:{sub.id}:{period.isoformat()}"
            record = {"subscription_id": sub.id, "period_key": period.isoformat()[:40], "composed_at": now,
                      "items": digest.count if digest.fresh else 0, "outbox_key": key if digest.fresh else None}
            if digest.fresh and digest.alerts:
                # Told here first: the change alert must not tell it again.
                record["told"] = [{"subscriber": sub.subscriber, "change_key": change_key(c), "via": "digest",
                                   "sent_at": now} for c in digest.alerts]
            values = {"id": sub.id, "next_due_at": nxt, "watermark": cand.cutoff}
            markdown = None
            if digest.fresh:
                t = translator_of(sub, prefs, settings)
                markdown = render_digest(t, digest, now=now, prefix=prefix, room=sub.is_room,
                                         names=lambda text, lang=t.lang: services.command_name(text, lang))
                values["last_sent_at"] = now
                report.sent += 1
            else:
                report.empty += 1
            plans.append((sub, values, record, markdown))
        except Exception:  # noqa: BLE001 - one odd subscription must not stop the others
            report.failed += 1
            log.exception("could not compose the digest of subscription %s; retried next run", sub.id)
    for start in range(0, len(plans), CHUNK):
        chunk = plans[start:start + CHUNK]
        try:
            await _write(services, chunk)
        except IntegrityError:
            # A period recorded by an overlapping run (or a subscription deleted meanwhile):
            # this chunk is rolled back whole and recomposed by the next run.
            log.warning("digest chunk of %d rolled back (already recorded or changed meanwhile)", len(chunk))
            report.failed += len(chunk)
    return report


async def _write(services, chunk) -> None:
    # Render the messages (Markdown -> HTML + text, the costly part) before taking the write lock.
    rows = []
    for n, (sub, _, record, markdown) in enumerate(chunk):
        if markdown:
            rows += effects.build_rows([outgoing_for(sub, markdown)], origin=f"digest {sub.id}", key=record["outbox_key"])
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
    async with services.db.transaction() as session:
        await session.execute(update(DigestSubscription), [values for _, values, _, _ in chunk])
        records = [record for _, _, record, _ in chunk if record is not None]
        told = [row for record in records for row in record.pop("told", ())]
        if records:
            await session.execute(insert(DigestRecord), records)
        if told:
            await session.execute(insert(ChangeAlert), told)
        await effects.enqueue_many(session, rows)


async def run_alerts(services, now: datetime) -> int:
    """One alert per subscriber, instrument and deadline when the deadline comes within
    `digests.deadline_alert`; several in one run go in one message. Returns messages."""
    settings = services.settings
    window = settings.digests.deadline_alert
    async with services.db.session() as session:
        closing = [(d.id, d.title, d.title_nl, set(d.themes), d.at)
                   for source in services.registry.contributions("digest") if source.closing is not None
                   for d in await source.closing(session, now, window)]
        if not closing:
            return 0
        subs = (await session.scalars(select(DigestSubscription))).all()
        sent = {(a.subscriber, a.instrument_id, a.deadline_at) for a in (await session.execute(select(
            DeadlineAlert.subscriber, DeadlineAlert.instrument_id, DeadlineAlert.deadline_at).where(
            DeadlineAlert.instrument_id.in_([c[0] for c in closing]), DeadlineAlert.deadline_at >= now))).all()}
        prefs = await load_prefs(session, [s.subscriber for s in subs if not s.is_room])
    plans = []
    for sub in subs:
        if sub.paused_until and sub.paused_until > now:
            continue
        mine = [c for c in closing if c[3].intersection(sub.topics or ()) and (sub.subscriber, c[0], c[4]) not in sent]
        if not mine:
            continue
        t = translator_of(sub, prefs, settings)
        markdown = render_alert(t, [(c[0], c[1], c[2], c[4]) for c in mine], now=now,
                                prefix=settings.bot.command_prefix,
                                names=lambda text, lang=t.lang: services.command_name(text, lang))
        ident = ",".join(f"{c[0]}@{c[4].isoformat()}" for c in mine)
        key = f"digest-alert:{sub.id}:" + hashlib.sha256(ident.encode()).hexdigest()[:16]
        rows = [{"subscriber": sub.subscriber, "instrument_id": c[0], "deadline_at": c[4], "sent_at": now} for c in mine]
        plans.append((sub, rows, markdown, key))
    await _send_alerts(services, plans, DeadlineAlert, "deadline alert",
                       "deadline alert chunk rolled back (already sent by an overlapping run)")
    return len(plans)


async def _send_alerts(services, plans: list, table, origin: str, on_conflict: str) -> tuple[int, bool]:
    """Write each plan's (subscriber, rows, markdown, key) alert rows and its message in one
    transaction per CHUNK of subscribers: the rows' unique keys make an alert that an
    overlapping run already sent roll its chunk back instead of going out twice.
    Returns (plans sent, whether every chunk went through)."""
    sent, complete = 0, True
    for start in range(0, len(plans), CHUNK):
        chunk = plans[start:start + CHUNK]
        try:
            async with services.db.transaction() as session:
                await session.execute(insert(table), [r for _, rows, _, _ in chunk for r in rows])
                await effects.enqueue_many(session, [
                    row for sub, _, markdown, key in chunk
                    for row in effects.build_rows([outgoing_for(sub, markdown)], origin=f"{origin} {sub.id}",
                                                 key=key)])
            sent += len(chunk)
        except IntegrityError:
            complete = False
            log.warning(on_conflict)
    return sent, complete


async def load_alerted(session, subscribers: list[str], keys: list[str]) -> dict[str, dict[str, datetime]]:
    """subscriber -> {change_key: when it was told} for the given changes."""
    if not subscribers or not keys:
        return {}
    query = select(ChangeAlert.subscriber, ChangeAlert.change_key, ChangeAlert.sent_at)
    if len(keys) <= MANY:
        query = query.where(ChangeAlert.change_key.in_(keys))
    if len(subscribers) <= MANY:
        query = query.where(ChangeAlert.subscriber.in_(subscribers))
    out: dict[str, dict[str, datetime]] = {}
    for who, key, at in (await session.execute(query)).all():
        out.setdefault(who, {})[key] = at
    return out


def alert_worthy(changes, now: datetime):
    """Per record, the latest deadline change when it moved the deadline earlier and the new
    deadline is still ahead, with the earlier moves of that record it supersedes:
    [(latest, [every earlier-move change of the record it covers])]. A deadline moved earlier
    and then back later is not alerted (its digest tells both)."""
    by_record: dict[str, list] = {}
    for c in changes:
        by_record.setdefault(c.record_id, []).append(c)
    out = []
    for found in by_record.values():
        latest = found[-1]
        if latest.alert and latest.new is not None and latest.new > now:
            out.append((latest, [c for c in found if c.alert]))
    return out


async def run_change_alerts(services, now: datetime) -> int:
    """A followed record's deadline moved earlier: one direct message (a room subscription:
    one room message) per subscriber with every such record not told yet, through the
    outbox; the rows saying so in the same transaction. Paused subscriptions get nothing
    now, and changes made while paused go to their digest only. Returns messages."""
    settings = services.settings
    sources = [s for s in services.registry.contributions("digest") if getattr(s, "alerts", None) is not None]
    if not sources:
        return 0
    async with services.db.session() as session:
        found = []
        for source in sources:
            found += await source.alerts(session, now - CHANGE_ALERT_LOOKBACK, now)
        worthy = alert_worthy(sorted(found, key=lambda c: (c.at, c.id)), now)
        # Changes this process already told everyone they concern are not read again every
        # pass (nobody becomes due for an old change: only changes after a subscriber's
        # watermark and pause are alerted). After a restart the first pass checks them once.
        done = services.extras.setdefault("digests.change_alerts_done", set())
        keys = {change_key(latest) for latest, _ in worthy}
        done.intersection_update(keys)
        if keys <= done:
            return 0
        topics = {t for latest, _ in worthy for t in latest.themes}
        subs = [s for s in (await session.scalars(select(DigestSubscription))).all()
                if topics.intersection(s.topics or ())]
        alerted = await load_alerted(session, [s.subscriber for s in subs],
                                     [change_key(c) for _, cover in worthy for c in cover])
        prefs = await load_prefs(session, [s.subscriber for s in subs if not s.is_room])
    plans = []
    for sub in subs:
        if sub.paused_until and sub.paused_until > now:
            continue
        told = alerted.get(sub.subscriber, {})
        # Only what happened after the subscriber's last digest and after any pause.
        after = max(sub.watermark, sub.paused_until or sub.watermark)
        mine = [(latest, cover) for latest, cover in worthy
                if set(latest.themes).intersection(sub.topics or ()) and latest.at > after
                and change_key(latest) not in told]
        if not mine:
            continue
        t = translator_of(sub, prefs, settings)
        markdown = render_change_alert(t, [latest for latest, _ in mine], prefix=settings.bot.command_prefix,
                                       names=lambda text, lang=t.lang: services.command_name(text, lang))
        keys = sorted({change_key(c) for _, cover in mine for c in cover} - set(told))
        key = f"change-alert:{sub.id}:" + hashlib.sha256(",".join(keys).encode()).hexdigest()[:16]
        rows = [{"subscriber": sub.subscriber, "change_key": k, "via": "alert", "sent_at": now} for k in keys]
        plans.append((sub, rows, markdown, key))
    # A chunk rolled back is looked at again at the next pass.
    sent, complete = await _send_alerts(services, plans, ChangeAlert, "change alert",
                                        "change alert chunk rolled back (already told by an overlapping run or digest)")
    if complete:
        done.update(keys)
    return sent


def due_job_id(at: datetime) -> str:
    return f"{DUE_KIND}:{at.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%S')}"


async def next_due_at(session) -> datetime | None:
    found = await session.scalar(select(func.min(DigestSubscription.next_due_at)))
    return found if found is None or found.tzinfo else found.replace(tzinfo=timezone.utc)


async def arm_due(ctx, at: datetime | None) -> None:
    """Plan the batched run for the moment `at` (a no-op for a moment already planned)."""
    if at is None or at <= ctx.now:
        return  # already due: the running or next pass takes it
    job_id = due_job_id(at)
    row = await ctx.db.get(ScheduledJob, job_id)
    if row is not None and row.status == "pending":
        return
    await ctx.schedule(DUE_KIND, at, {}, job_id=job_id, owner=ctx.services.bot_user_id, room_id="")


async def tick(services, now: datetime) -> RunReport:
    """The scheduled run: due digests, then (at most every ALERT_EVERY) deadline alerts.
    One run at a time in this process (the due timer and the recurring run may meet)."""
    lock = services.extras.setdefault("digests.run_lock", asyncio.Lock())
    async with lock:
        return await _tick(services, now)


async def _tick(services, now: datetime) -> RunReport:
    # Change alerts first: a digest due in the same pass then lists them as alerted.
    try:
        await run_change_alerts(services, now)
    except Exception as exc:  # noqa: BLE001 - alerts must not stop the digests; retried next pass
        if await services.db.unavailable(exc):
            # Restarting or locked: nothing was written, the next pass sends them; no traceback.
            log.warning("change alerts: database unavailable (%s); retried on the next run", type(exc).__name__)
        else:
            log.exception("change alerts failed; retried on the next run")
    report = await run_due(services, now)
    last = services.extras.get("digests.alerts_checked")
    if last is None or now - last >= ALERT_EVERY:
        await run_alerts(services, now)
        services.extras["digests.alerts_checked"] = now
    if report.due:
        log.info("digest run: %d due, %d sent, %d empty, %d paused, %d failed", report.due, report.sent,
                 report.empty, report.paused, report.failed)
    return report
