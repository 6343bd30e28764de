"""Funding's lines in `!admin stats`: how many instruments, the newest check, how many out of date."""
from __future__ import annotations

from sqlalchemy import select

from storage.funding.models import FundingInstrument
from storage.funding.records import is_outdated


async def admin_stats(ctx) -> list[tuple[str, str]]:
    t, n, now = ctx.t, ctx.t.number, ctx.now
    rows = (await ctx.db.execute(select(FundingInstrument.last_checked, FundingInstrument.stale))).all()
    stale_after = ctx.settings.funding.stale_after
    outdated = sum(1 for r in rows if is_outdated(r, now, stale_after))
    newest = max((r.last_checked for r in rows if r.last_checked), default=None)
    return [("data", t("Funding instruments: {count}; newest check {newest}; {outdated} out of date "
                       "(checked longer than {days} days ago, or gone from their source).",
                       count=n(len(rows)), newest=t.date(newest) if newest else t("never"),
                       outdated=n(outdated), days=stale_after.days))]
