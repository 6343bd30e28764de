"""Labs' line in `!admin stats`: how many labs, the newest check, how many not checked lately."""
from __future__ import annotations

from sqlalchemy import select

from storage.labs.models import Lab


async def admin_stats(ctx) -> list[tuple[str, str]]:
    t, n, now = ctx.t, ctx.t.number, ctx.now
    rows = (await ctx.db.execute(select(Lab.last_checked))).all()
    newest = max((r.last_checked for r in rows if r.last_checked), default=None)
    old = sum(1 for r in rows if r.last_checked is None or now.date() - r.last_checked > ctx.settings.funding.stale_after)
    return [("data", t("Living labs: {count}; newest check {newest}; {old} not checked in {days} days.",
                       count=n(len(rows)), newest=t.date(newest) if newest else t("never"), old=n(old),
                       days=ctx.settings.funding.stale_after.days))]
