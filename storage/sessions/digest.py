"""Sessions' part in the digest: planned sessions on a followed topic within the horizon."""
from __future__ import annotations

from sqlalchemy import select

from bot.framework.digest_parts import Contribution, Parts, Session, Window
from storage.sessions.models import ReviewSession


async def parts(session, w: Window) -> Parts:
    rows = (await session.execute(select(
        ReviewSession.id, ReviewSession.title, ReviewSession.topic, ReviewSession.starts_at, ReviewSession.created_at,
    ).where(ReviewSession.status == "planned", ReviewSession.starts_at > w.now,
            ReviewSession.starts_at <= w.horizon_end, ReviewSession.topic.is_not(None),
            ).order_by(ReviewSession.starts_at, ReviewSession.id))).all()
    return Parts(sessions=[Session(*row) for row in rows if row.topic in w.topics])


CONTRIBUTION = Contribution(parts)
