"""Sessions' contribution `calendar` (bot.framework.references): a person's sessions (as
presenter, reviewer, note taker, observer, on the waiting list or as facilitator; moved
ones with a higher SEQUENCE, cancelled ones as STATUS:CANCELLED) and the action items
they own with their due dates. Only that person's: nothing of sessions they are not in."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.i18n import N_
from bot.framework.references import CalendarEntry, CalendarSource, fingerprint
from storage.sessions.models import Participant, ReviewSession, SessionAction

ROLE_LABELS = {"presenter": N_("presenter"), "reviewer": N_("reviewer"), "note_taker": N_("note taker"),
               "observer": N_("observer"), "facilitator": N_("facilitator"), "waiting": N_("on the waiting list")}


async def calendar(session: AsyncSession, user_id: str, followed: frozenset, t) -> list[CalendarEntry]:
    rows = (await session.execute(
        select(ReviewSession, Participant)
        .outerjoin(Participant, (Participant.session_id == ReviewSession.id) & (Participant.user_id == user_id))
        .where(or_(Participant.user_id == user_id, ReviewSession.facilitator == user_id))
        .order_by(ReviewSession.id))).all()
    out = []
    for s, p in rows:
        role = "facilitator" if s.facilitator == user_id and p is None else (
            "waiting" if p is not None and p.state == "waiting" else (p.role if p else "facilitator"))
        status = {"cancelled": "CANCELLED"}.get(s.status, "CONFIRMED")
        details = [t("Your role: {role}", role=t(ROLE_LABELS.get(role, role)))]
        if s.location:
            details.append(t("Where: {place}", place=s.location))
        details.append(t("Room: {link}", link=f"https://matrix.to/#/{s.room_id}"))
        if s.cancel_reason:
            details.append(t("Cancelled: {reason}", reason=s.cancel_reason))
        out.append(CalendarEntry(uid=f"session-{s.id}", summary=t("Session #{number}: {title}", number=s.id, title=s.title),
                                 start=s.starts_at, end=s.ends_at, tz=s.timezone or "Europe/Amsterdam", status=status,
                                 sequence=s.sequence or 0, description="\n".join(details), location=s.location or "",
                                 categories=("session",)))
    actions = (await session.scalars(select(SessionAction).where(SessionAction.owner == user_id)
                                     .order_by(SessionAction.id))).all()
    for a in actions:
        out.append(CalendarEntry(uid=f"session-action-{a.id}", summary=t("Action: {text}", text=a.text[:200]),
                                 start=a.due, end=a.due + timedelta(minutes=30),
                                 description=t("From session #{number}", number=a.session_id),
                                 categories=("action",)))
    return out


def _version_statements():
    user = bindparam("user_id")
    mine = or_(Participant.user_id == user, ReviewSession.facilitator == user)
    joined = ReviewSession.__table__.outerjoin(
        Participant.__table__, (Participant.session_id == ReviewSession.id) & (Participant.user_id == user))
    sessions = fingerprint(
        ReviewSession.id, ReviewSession.sequence, ReviewSession.starts_at, ReviewSession.ends_at,
        ReviewSession.status, ReviewSession.title, ReviewSession.location, ReviewSession.cancel_reason,
        ReviewSession.timezone, ReviewSession.room_id, ReviewSession.facilitator, Participant.role,
        Participant.state, join=joined, where=(mine,), order_by=(ReviewSession.id,))
    actions = fingerprint(SessionAction.id, SessionAction.text, SessionAction.due, SessionAction.session_id,
                          where=(SessionAction.owner == user,), order_by=(SessionAction.id,))
    return sessions, actions


# Built once: building a statement costs more than running it.
_SESSIONS, _ACTIONS = _version_statements()


async def version(session: AsyncSession, user_id: str, followed: frozenset) -> str:
    """Every column `calendar` reads, of the same rows, as one string built in the database
    (bot.framework.references.fingerprint): no entry is built."""
    sessions = (await session.execute(_SESSIONS, {"user_id": user_id})).one()
    actions = (await session.execute(_ACTIONS, {"user_id": user_id})).one()
    return hashlib.sha256(repr((tuple(sessions), tuple(actions))).encode()).hexdigest()


SOURCE = CalendarSource(calendar, version)
