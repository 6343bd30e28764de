"""What the bot holds about a person, and what forgetting them does (AVG/GDPR access and
erasure requests, used by `!mydata` and `!admin user|forget`): the engine, and the rules
of the core tables. Each capability declares the rules of its own tables in its manifest
(storage/<name>/privacy.py); the loader refuses a capability whose tables lack them.

Two layers, so a new table cannot be forgotten silently:
- holdings: rows that belong to or name a user in a user-id column, with the action on
  erasure: `delete` the row, or `anonymise` the column (NULL where the column allows it,
  else an unlinkable pseudonym, see `pseudonym()`).
- mentions: for EVERY table, what happens to rows that name the user anywhere else (in
  free text, JSON payloads, keys): `delete` (caches, delivery logs, dedup keys) or `redact`
  (the user id is replaced by "(former member)"). The privacy tests fail when a table is
  missing, and fill every table through real commands to check that no row names the user
  after forgetting.

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

from bot.framework.i18n import N_
from storage.models.core import (
    AuditLog, DirectRoom, KeyValue, OutboxMessage, Pager, RoomState, ScheduledJob, UserPrefs,
)

PSEUDONYM_PREFIX = "former-member:"
REDACTED = "(former member)"


def pseudonym() -> str:
    """A value that stands for "someone who was forgotten", different on every row."""
    return PSEUDONYM_PREFIX + secrets.token_hex(4)


def is_former(user_id: str | None) -> bool:
    return bool(user_id) and user_id.startswith(PSEUDONYM_PREFIX)


def aware(value):
    """A stored moment as UTC when the database gave it back without a zone (SQLite), so it
    is shown in the person's own zone, not read as the machine's."""
    from datetime import timezone
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


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


def short(text: str | None, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# Stored states shown in the reader's language (an unknown value is shown as stored).
STATES = {"pending": N_("planned"), "done": N_("done"), "cancelled": N_("cancelled"), "failed": N_("failed"),
           "sent": N_("sent"), "daily": N_("daily"), "weekly": N_("weekly"), "monthly": N_("monthly")}
REQUEST_STATES = {"pending": N_("waiting for an answer"), "accepted": N_("accepted"), "declined": N_("declined")}


# Audit-log actions and scheduled-job kinds are keys for logs ("knowledge.share",
# "session-reminder"); a person reads what they stand for. Each capability names its own in
# its rules (Rules.labels); these are the core's. `*.import`: any data set's import.
CORE_LABELS = {
    "admin.announce": N_("sent an announcement"),
    "admin.data_reload": N_("reloaded a data set"),
    "privacy.forget": N_("forgot a person at their request"),
    "*.import": N_("imported a data set"),
}


def key_label(t, labels: dict[str, str], key: str | None) -> str:
    """What an action or job key stands for, in the reader's language: its own label, else its
    nearest declared parent (`labs.request.accepted` -> `labs.request`), else `*.<last part>`;
    a key nobody declared is never shown as it is stored."""
    key = key or ""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in labels:
            return t(labels[".".join(parts[:n])])
    if "*." + parts[-1] in labels:
        return t(labels["*." + parts[-1]])
    return t(N_("another change"))


def target_text(t, target: str | None) -> str:
    """An audit record's target as a reader sees it: a topic by its name, not `topic:<id>`;
    a call or lab by the id people type in commands (`!funding <id>`), not `instrument:<id>`;
    a numbered row as #n, as the commands number them."""
    from storage import topics
    kind, _, ref = (target or "").partition(":")
    if kind == "topic" and (topic := topics.get(ref)) is not None:
        return topic.label(t.lang)
    if kind in ("instrument", "lab") and ref:
        return short(ref, 60)
    if (target or "").isdigit():
        return f"#{target}"
    return short(target, 60)


def state_label(t, value: str | None, names: dict[str, str] | None = None) -> str:
    names = STATES if names is None else names
    return t(names[value]) if value in names else str(value)


@dataclass(frozen=True)
class Rules:
    """One capability's privacy rules, declared in its manifest (storage/<name>/privacy.py).

    - holdings: its columns that hold a user id, with the action on erasure;
    - mentions: for EVERY table it owns, what happens to rows that name the user anywhere
      else: `delete` (caches, delivery logs, dedup keys) or `redact` (the id is replaced);
    - personal_jobs: job kinds that only make sense for their owner (deleted with them;
      other jobs they planned are kept, anonymised);
    - not_user_columns: columns whose name sounds like a user but never hold one;
    - labels: what its audit-log actions and job kinds stand for (English msgids), shown
      instead of the keys (`knowledge.share` -> "shared an item")."""
    holdings: tuple[Holding, ...] = ()
    mentions: dict[str, str] = field(default_factory=dict)
    personal_jobs: tuple[str, ...] = ()
    not_user_columns: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def core_rules(personal_jobs: tuple[str, ...], labels: dict[str, str] | None = None) -> tuple[Rules, Rules]:
    """The core tables' rules, as what is shown before the capabilities' holdings (your
    preferences and jobs) and after them (caches, delivery and audit records); scheduled
    jobs are split by the capabilities' personal kinds. `labels`: every capability's labels
    of actions and job kinds (Rules.labels), read when a line is shown."""
    labels = {**CORE_LABELS, **(labels or {})}
    head = Rules(holdings=(
        Holding(UserPrefs, "user_id", "delete", N_("preferences (language, time zone)"),
                lambda r, t: " / ".join(filter(None, [r.language, r.timezone])) or "-"),
        Holding(KeyValue, "key", "delete", N_("remembered language"), lambda r, t: r.value,
                value=language_memory_key, person=False),
        Holding(ScheduledJob, "owner", "delete", N_("personal reminders"),
                lambda r, t: f"{t.datetime(r.run_at)} ({state_label(t, r.status)}): {short(r.payload.get('text'))}",
                where=(ScheduledJob.kind.in_(personal_jobs),)),
        Holding(ScheduledJob, "owner", "anonymise", N_("scheduled jobs planned by you"),
                lambda r, t: f"{key_label(t, labels, r.kind)} {t.datetime(r.run_at)} ({state_label(t, r.status)})",
                where=(ScheduledJob.kind.not_in(personal_jobs),)),
    ), mentions={
        "kv": "delete",                      # language memory, pending confirmations
        "handled_events": "delete",          # dedup keys such as undecryptable:<room>:<sender>:…
        "scheduled_jobs": "redact",
        "user_prefs": "delete",
    })
    tail = Rules(holdings=(
        Holding(Pager, "user_id", "delete", N_("pages of long answers waiting for !more"),
                lambda r, t: f"{r.room_id}: {len(r.pages or [])}", person=False),
        Holding(DirectRoom, "user_id", "delete", N_("direct chat with the bot"), lambda r, t: r.room_id, person=False),
        # A direct room keeps being a direct room (no prefix needed, no roles from power levels).
        Holding(RoomState, "is_direct_with", "pseudonym", N_("rooms the bot joined as your direct chat"),
                lambda r, t: r.room_id, person=False),
        Holding(OutboxMessage, "to_user", "delete", N_("messages sent to you"),
                lambda r, t: f"{t.datetime(r.created_at)} ({state_label(t, r.status)})", person=False),
        Holding(AuditLog, "actor", "pseudonym", N_("changes you made (audit log)"),
                lambda r, t: f"{t.datetime(aware(r.at))} {key_label(t, labels, r.action)} {target_text(t, r.target)}",
                person=False),
        Holding(AuditLog, "target", "pseudonym", N_("changes about you (audit log)"),
                lambda r, t: f"{t.datetime(aware(r.at))} {key_label(t, labels, r.action)}", person=False),
    ), mentions={
        "rooms": "redact",
        "outbox": "redact",                  # a notice to others that named the user
        "pages": "delete",                   # other people's cached pages listing the user
        "direct_rooms": "delete",
        "audit_log": "redact",
    })
    return head, tail


def _text_columns(model) -> list:
    return [c for c in model.__table__.columns if isinstance(c.type, (String, Text, JSON))
            or isinstance(getattr(c.type, "impl", None), (String, Text, JSON))]


@dataclass
class Found:
    holding: Holding
    rows: list[Any]


@dataclass
class ForgetReport:
    deleted: int = 0
    anonymised: int = 0
    redacted: int = 0
    job_ids: list[str] = field(default_factory=list)  # scheduled jobs removed (their timers to disarm)


class Privacy:
    """The engine over the core rules and the enabled capabilities' rules: what the bot
    holds about a person (`!mydata`, `!admin user`) and what forgetting them does."""

    def __init__(self, rules: list[Rules]):
        personal = tuple(k for r in rules for k in r.personal_jobs)
        # What audit actions and job kinds stand for (shown instead of the keys).
        self.labels = {**CORE_LABELS, **{k: v for r in rules for k, v in r.labels.items()}}
        head, tail = core_rules(personal, self.labels)
        self.rules = [head, *rules, tail]
        self.personal_jobs = personal
        self.holdings: tuple[Holding, ...] = tuple(h for r in self.rules for h in r.holdings)
        self.mentions: dict[str, str] = {}
        self.not_user_columns: dict[str, str] = {}
        for r in self.rules:
            for table, rule in r.mentions.items():
                if table in self.mentions:
                    raise ValueError(f"privacy rules for table {table!r} are declared twice")
                self.mentions[table] = rule
            self.not_user_columns.update(r.not_user_columns)

    def models(self) -> list[Any]:
        """The ORM classes of every table with rules (the enabled capabilities' and the core's)."""
        from storage.models import Base
        return [m.class_ for m in Base.registry.mappers if m.class_.__tablename__ in self.mentions]

    async def inventory(self, session: AsyncSession, user: str) -> list[Found]:
        """Every holding with this user's rows (empty ones left out)."""
        out = []
        for h in self.holdings:
            rows = list((await session.scalars(select(h.model).where(h.condition(user), *h.where))).all())
            if rows:
                out.append(Found(h, rows))
        return out

    async def mention_count(self, session: AsyncSession, user: str, found: list[Found] = ()) -> int:
        """Rows that name the user only in passing (not already among `found`)."""
        known = {id(row) for f in found for row in f.rows}
        count = 0
        for model in self.models():
            count += sum(1 for row in await _mentioning(session, model, user) if id(row) not in known)
        return count

    async def forget(self, session: AsyncSession, user: str) -> "ForgetReport":
        """Remove or anonymise everything that names `user`, in the caller's transaction."""
        report = ForgetReport()
        for h in self.holdings:
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
        for model in self.models():
            rule = self.mentions[model.__tablename__]
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

    async def people_count(self, session: AsyncSession, *, exclude: tuple[str, ...] = ()) -> int:
        """How many distinct people the bot holds data about (user-id columns only; `exclude`:
        the bot itself, which owns its own jobs)."""
        queries = []
        for h in self.holdings:
            if not h.person or h.subquery is not None:
                continue
            col = getattr(h.model, h.column)
            queries.append(select(col.label("u")).where(col.like("@%"), col.not_in(exclude), *h.where))
        union = queries[0].union(*queries[1:]).subquery()
        return (await session.scalar(select(func.count()).select_from(union))) or 0


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


__all__ = ["Rules", "Privacy", "Holding", "Found", "ForgetReport", "core_rules", "key_label", "CORE_LABELS", "pseudonym", "is_former",
           "language_memory_key", "aware", "confirmation_key", "short", "state_label", "STATES", "REQUEST_STATES",
           "REDACTED", "PSEUDONYM_PREFIX"]
