"""Sessions' contribution `calendar` (bot.framework.references): a person's sessions (as
presenter, reviewer, note taker, observer, on the waiting list or as facilitator; moved
ones with a higher SEQUENCE, cancelled ones as STATUS:CANCELLED) and the action items
they own with their due dates. Only that person's: nothing of sessions they are not in."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.i18n import N_
from bot.framework.references import CalendarEntry
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
