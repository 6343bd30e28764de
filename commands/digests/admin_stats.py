"""The digests' line in `!admin stats`: subscriptions, paused, due in 24 hours, the next."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.framework.render import when_or_never
from storage.digests.models import DigestSubscription


async def admin_stats(ctx) -> list[tuple[str, str]]:
    t, n, db, now = ctx.t, ctx.t.number, ctx.db, ctx.now

    async def count(*where) -> int:
        return (await db.scalar(select(func.count()).select_from(DigestSubscription).where(*where))) or 0

    subs, paused = await count(), await count(DigestSubscription.paused_until > now)
    due = await count(DigestSubscription.next_due_at <= now + timedelta(hours=24))
    nxt = await db.scalar(select(func.min(DigestSubscription.next_due_at)))
    return [("scheduled", t("Digest subscriptions: {count} ({paused} paused); {due} due in the next 24 hours; next {next}.",
                            count=n(subs), paused=n(paused), due=n(due), next=when_or_never(t, nxt) if nxt else "-"))]
