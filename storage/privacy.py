"""What the bot holds about a person, and what forgetting them does: the one place that
knows, per table, which columns name a user (AVG/GDPR access and erasure requests, used
by `!mydata` and `!admin user|forget`).

Two layers, so a new table cannot be forgotten silently:
- HOLDINGS: rows that belong to or name a user in a user-id column, with the action on
  erasure: `delete` the row, or `anonymise` the column (NULL where the column allows it,
  else an unlinkable pseudonym, see `pseudonym()`).
- MENTIONS: for EVERY table, what happens to rows that name the user anywhere else (in
  free text, JSON payloads, keys): `delete` (caches, delivery logs, dedup keys) or `redact`
  (the user id is replaced by "(former member)"). tests/unit/test_privacy.py fails when a
  table is missing here, and fills every table through real commands to check that no row
  names the user after forgetting.

Why anonymise rather than delete reviews, shared items, sessions and actions: other people
rely on them (a presenter's report, the hub's knowledge base, a session others joined). The
person's link to them goes; what they wrote for others stays. Why a per-row random
pseudonym rather than one stable per person: a stable pseudonym would still link all of
a person's reviews together (pseudonymised data is personal data, GDPR recital 26), and
review rows need distinct values per session (the reviewer is part of the key)."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import JSON, String, Text, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from storage.models import Base
from storage.models.core import (
    AuditLog, DirectRoom, KeyValue, OutboxMessage, Pager, RoomState, ScheduledJob, UserPrefs,
)
from storage.models.digests import DeadlineAlert, DigestRecord, DigestSubscription
from storage.models.funding import FundingInstrument
from storage.models.knowledge import KnowledgeItem
from storage.models.labs import Lab, LabRequest
from storage.models.sessions import (
    Participant, PollVote, Review, ReviewSession, SessionAction, SessionPoll,
)

PSEUDONYM_PREFIX = "former-member:"
REDACTED = "(former member)"
# Job kinds that only make sense for the person themselves: removed with them.
PERSONAL_JOB_KINDS = ("reminder", "session-action-reminder")


def pseudonym() -> str:
    """A value that stands for "someone who was forgotten", different on every row."""
    return PSEUDONYM_PREFIX + secrets.token_hex(4)


def is_former(user_id: str | None) -> bool:
    return bool(user_id) and user_id.startswith(PSEUDONYM_PREFIX)


def language_memory_key(user_id: str) -> str:
    """The kv key of the language a user last wrote in (bot.framework.middleware)."""
    if len(user_id) > 80:   # kv keys are at most 100 characters; MXIDs may be 255
        user_id = hashlib.sha256(user_id.encode()).hexdigest()[:40]
    return f"lang.last:{user_id}"


def confirmation_key(actor: str, target: str) -> str:
    """The kv key of a pending "forget" confirmation (hashed: the key names nobody)."""
    return "privacy.confirm:" + hashlib.sha256(f"{actor}\n{target}".encode()).hexdigest()[:40]


Line = Callable[[Any, Any], str]   # (row, translator) -> text


@dataclass(frozen=True)
class Holding:
    model: Any
    column: str                 # the column that holds the user id (or the key derived from it)
    action: str                 # delete | anonymise | pseudonym (anonymise = NULL if nullable, else pseudonym)
    label: str                  # English msgid, shown with the count
    line: Line | None = None    # a short description of one row (the caller escapes it)
    value: Callable[[str], str] = lambda user: user   # the stored value for this user
    where: tuple = ()           # extra conditions
    subquery: Callable[[str], Any] | None = None  # rows found another way (e.g. through their parent)
    also: dict[str, Any] = field(default_factory=dict)  # more columns to set when anonymising
    person: bool = True         # the column holds people (counted in `!admin stats`)

    def condition(self, user: str):
        if self.subquery is not None:
            return self.subquery(user)
        return getattr(self.model, self.column) == self.value(user)


def _short(text: str | None, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# Stored states shown in the reader's language (an unknown value is shown as stored).
_STATES = {"pending": N_("planned"), "done": N_("done"), "cancelled": N_("cancelled"), "failed": N_("failed"),
           "sent": N_("sent"), "daily": N_("daily"), "weekly": N_("weekly"), "monthly": N_("monthly")}
_REQUEST_STATES = {"pending": N_("waiting for an answer"), "accepted": N_("accepted"), "declined": N_("declined")}


def _state(t, value: str | None, names: dict[str, str] = _STATES) -> str:
    return t(names[value]) if value in names else str(value)


HOLDINGS: tuple[Holding, ...] = (
    Holding(UserPrefs, "user_id", "delete", N_("preferences (language, time zone)"),
            lambda r, t: " / ".join(filter(None, [r.language, r.timezone])) or "-"),
    Holding(KeyValue, "key", "delete", N_("remembered language"), lambda r, t: r.value,
            value=language_memory_key, person=False),
    Holding(ScheduledJob, "owner", "delete", N_("personal reminders"),
            lambda r, t: f"{t.datetime(r.run_at)} ({_state(t, r.status)}): {_short(r.payload.get('text'))}",
            where=(ScheduledJob.kind.in_(PERSONAL_JOB_KINDS),)),
    Holding(ScheduledJob, "owner", "anonymise", N_("scheduled jobs planned by you"),
            lambda r, t: f"{r.kind} {t.datetime(r.run_at)} ({_state(t, r.status)})",
            where=(ScheduledJob.kind.not_in(PERSONAL_JOB_KINDS),)),
    Holding(DigestRecord, "subscription_id", "delete", N_("digests sent to you"),
            lambda r, t: f"{r.period_key}: {r.items}",
            subquery=lambda user: DigestRecord.subscription_id.in_(
                select(DigestSubscription.id).where(DigestSubscription.subscriber == user)), person=False),
    Holding(DigestSubscription, "subscriber", "delete", N_("digest subscriptions"),
            lambda r, t: f"{', '.join(r.topics or [])} ({_state(t, r.frequency)}, {r.at_time})"),
    Holding(DigestSubscription, "created_by", "pseudonym", N_("room subscriptions you set up"),
            lambda r, t: f"{r.subscriber}: {', '.join(r.topics or [])}", where=(DigestSubscription.is_room.is_(True),)),
    Holding(DeadlineAlert, "subscriber", "delete", N_("deadline alerts sent to you"),
            lambda r, t: f"{r.instrument_id} {r.deadline_at:%Y-%m-%d}", person=False),
    Holding(LabRequest, "requester", "delete", N_("lab access requests"),
            lambda r, t: f"#{r.id} {r.lab_id} ({_state(t, r.status, _REQUEST_STATES)}): {_short(r.text)}"),
    Holding(LabRequest, "responder", "anonymise", N_("lab requests you answered"),
            lambda r, t: f"#{r.id} {r.lab_id} ({_state(t, r.status, _REQUEST_STATES)})"),
    Holding(Participant, "user_id", "delete", N_("session sign-ups"),
            lambda r, t: f"#{r.session_id} {r.role} ({r.state})"),
    Holding(PollVote, "user_id", "delete", N_("poll votes"), lambda r, t: f"#{r.poll_id}"),
    Holding(Review, "reviewer", "anonymise", N_("reviews (kept without your name)"),
            lambda r, t: f"#{r.session_id} " + t(N_("submitted") if r.submitted_at else N_("draft")),
            also={"named": False, "step": None}),
    Holding(SessionAction, "owner", "anonymise", N_("session actions you own"),
            lambda r, t: f"#{r.session_id}: {_short(r.text)}"),
    Holding(SessionAction, "created_by", "anonymise", N_("session actions you recorded"),
            lambda r, t: f"#{r.session_id}: {_short(r.text)}"),
    Holding(ReviewSession, "facilitator", "anonymise", N_("sessions you facilitate"),
            lambda r, t: f"#{r.id} {_short(r.title)}"),
    Holding(SessionPoll, "facilitator", "anonymise", N_("time-slot polls you started"),
            lambda r, t: f"#{r.id} {_short(r.title)}"),
    Holding(KnowledgeItem, "shared_by", "anonymise", N_("shared knowledge items (kept without your name)"),
            lambda r, t: f"#{r.id} {_short(r.title)}"),
    Holding(Pager, "user_id", "delete", N_("pages of long answers waiting for !more"),
            lambda r, t: f"{r.room_id}: {len(r.pages or [])}", person=False),
    Holding(DirectRoom, "user_id", "delete", N_("direct chat with the bot"), lambda r, t: r.room_id, person=False),
    # A direct room keeps being a direct room (no prefix needed, no roles from power levels).
    Holding(RoomState, "is_direct_with", "pseudonym", N_("rooms the bot joined as your direct chat"),
            lambda r, t: r.room_id, person=False),
    Holding(OutboxMessage, "to_user", "delete", N_("messages sent to you"),
            lambda r, t: f"{t.datetime(r.created_at)} ({_state(t, r.status)})", person=False),
    Holding(AuditLog, "actor", "pseudonym", N_("changes you made (audit log)"),
            lambda r, t: f"{r.at:%Y-%m-%d} {r.action} {_short(r.target, 40)}", person=False),
    Holding(AuditLog, "target", "pseudonym", N_("changes about you (audit log)"),
            lambda r, t: f"{r.at:%Y-%m-%d} {r.action}", person=False),
    Holding(FundingInstrument, "updated_by", "anonymise", N_("funding records you edited"),
            lambda r, t: r.id, person=False),
    Holding(FundingInstrument, "checked_by", "anonymise", N_("funding records you checked"),
            lambda r, t: r.id, person=False),
    Holding(Lab, "contact", "anonymise", N_("living labs with you as contact"), lambda r, t: r.id, person=False),
)

# Rows that name the user elsewhere (free text, JSON, keys): one rule for every table.
MENTIONS: dict[str, str] = {
    "kv": "delete",                      # language memory, pending confirmations
    "handled_events": "delete",          # dedup keys such as undecryptable:<room>:<sender>:…
    "rooms": "redact",
    "outbox": "redact",                  # a notice to others that named the user
    "scheduled_jobs": "redact",
    "user_prefs": "delete",
    "pages": "delete",                   # other people's cached pages listing the user
    "direct_rooms": "delete",
    "audit_log": "redact",
    "funding_instruments": "redact",
    "labs": "redact",
    "lab_requests": "redact",
    "review_sessions": "redact",
    "session_participants": "delete",
    "session_reviews": "redact",
    "session_actions": "redact",
    "session_polls": "redact",
    "session_poll_votes": "delete",
    "knowledge_items": "redact",
    "knowledge_feeds": "redact",
    "digest_subscriptions": "redact",
    "digest_records": "redact",
    "digest_deadline_alerts": "delete",
}


# Columns whose name sounds like a user but that never hold one (tests/unit/test_admin.py).
NOT_USER_COLUMNS = {"labs.target_users": "the kinds of organisation a lab serves, e.g. municipalities"}


def models() -> list[Any]:
    return [m.class_ for m in Base.registry.mappers]


def _text_columns(model) -> list:
    return [c for c in model.__table__.columns if isinstance(c.type, (String, Text, JSON))
            or isinstance(getattr(c.type, "impl", None), (String, Text, JSON))]


@dataclass
class Found:
    holding: Holding
    rows: list[Any]


async def inventory(session: AsyncSession, user: str) -> list[Found]:
    """Every holding with this user's rows (empty ones left out)."""
    out = []
    for h in HOLDINGS:
        rows = list((await session.scalars(select(h.model).where(h.condition(user), *h.where))).all())
        if rows:
            out.append(Found(h, rows))
    return out


async def mention_count(session: AsyncSession, user: str, found: list[Found] = ()) -> int:
    """Rows that name the user only in passing (not already among `found`)."""
    known = {id(row) for f in found for row in f.rows}
    count = 0
    for model in models():
        count += sum(1 for row in await _mentioning(session, model, user) if id(row) not in known)
    return count


async def _mentioning(session: AsyncSession, model, user: str) -> list[Any]:
    cols = _text_columns(model)
    if not cols:
        return []
    needles = {user, json.dumps(user)[1:-1]}
    patterns = [f"%{_like_escape(n)}%" for n in needles]
    cond = or_(*(cast(c, Text).like(p, escape="\\") for c in cols for p in patterns))
    rows = (await session.scalars(select(model).where(cond))).all()
    # LIKE is case-insensitive on SQLite: keep exact matches only.
    return [r for r in rows if any(_names(getattr(r, c.key), needles) for c in cols)]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _names(value: Any, needles: set[str]) -> bool:
    if value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value)
    return any(n in text for n in needles)


def _redact(value: Any, user: str) -> Any:
    if isinstance(value, str):
        return value.replace(user, REDACTED)
    if isinstance(value, list):
        return [_redact(v, user) for v in value]
    if isinstance(value, dict):
        return {_redact(k, user): _redact(v, user) for k, v in value.items()}
    return value


@dataclass
class ForgetReport:
    deleted: int = 0
    anonymised: int = 0
    redacted: int = 0
    job_ids: list[str] = field(default_factory=list)  # scheduled jobs removed (their timers to disarm)


async def forget(session: AsyncSession, user: str) -> ForgetReport:
    """Remove or anonymise everything that names `user`, in the caller's transaction."""
    report = ForgetReport()
    for h in HOLDINGS:
        cond = [h.condition(user), *h.where]
        if h.action == "delete":
            if h.model is ScheduledJob:
                report.job_ids += list((await session.scalars(select(ScheduledJob.id).where(*cond))).all())
            result = await session.execute(delete(h.model).where(*cond).execution_options(synchronize_session=False))
            report.deleted += result.rowcount or 0
            continue
        nullable = h.model.__table__.columns[h.column].nullable
        rows = list((await session.scalars(select(h.model).where(*cond))).all())
        for row in rows:
            setattr(row, h.column, None if h.action == "anonymise" and nullable else pseudonym())
            for k, v in h.also.items():
                setattr(row, k, v)
        report.anonymised += len(rows)
    await session.flush()
    for model in models():
        rule = MENTIONS[model.__tablename__]
        for row in await _mentioning(session, model, user):
            if rule == "delete":
                if model is ScheduledJob:
                    report.job_ids.append(row.id)
                await session.delete(row)
            else:
                for c in _text_columns(model):
                    value = getattr(row, c.key)
                    if _names(value, {user}):
                        setattr(row, c.key, _redact(value, user))
            report.redacted += 1
    await session.flush()
    return report


async def people_count(session: AsyncSession, *, exclude: tuple[str, ...] = ()) -> int:
    """How many distinct people the bot holds data about (user-id columns only; `exclude`:
    the bot itself, which owns its own jobs)."""
    queries = []
    for h in HOLDINGS:
        if not h.person or h.subquery is not None:
            continue
        col = getattr(h.model, h.column)
        queries.append(select(col.label("u")).where(col.like("@%"), col.not_in(exclude), *h.where))
    union = queries[0].union(*queries[1:]).subquery()
    return (await session.scalar(select(func.count()).select_from(union))) or 0


__all__ = ["HOLDINGS", "MENTIONS", "Holding", "Found", "ForgetReport", "inventory", "forget", "people_count",
           "pseudonym", "is_former", "language_memory_key", "confirmation_key", "mention_count", "REDACTED",
           "PSEUDONYM_PREFIX"]
