"""Funding's lines in `!admin stats`: how many instruments, how many out of date, freshness per
source (checked there by a refresh, by hand, or not since the bundled batch date) and the
candidates waiting for a facilitator."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.framework.i18n import N_
from storage.funding.curation import freshness
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.funding.records import is_outdated

ORIGIN_LABELS = {"bundled": N_("bundled file"), "eu-ft": N_("EU portal"), "import": N_("imported"),
                 "chat": N_("added in chat")}


async def admin_stats(ctx) -> list[tuple[str, str]]:
    t, n, now = ctx.t, ctx.t.number, ctx.now
    rows = (await ctx.db.execute(select(FundingInstrument.last_checked, FundingInstrument.stale))).all()
    stale_after = ctx.settings.funding.stale_after
    outdated = sum(1 for r in rows if is_outdated(r, now, stale_after))
    newest = max((r.last_checked for r in rows if r.last_checked), default=None)
    out = [("data", t("Funding instruments: {count}; newest check {newest}; {outdated} out of date "
                      "(checked longer than {days} days ago, or gone from their source).",
                      count=n(len(rows)), newest=t.date(newest) if newest else t("never"),
                      outdated=n(outdated), days=stale_after.days))]
    for f in await freshness(ctx.db):
        out.append(("data", t("Funding from {source}: {count}; {by_source} checked in their source by a refresh, "
                              "{by_hand} checked by hand, {unconfirmed} not checked since their batch date or never; "
                              "{gone} no longer in their source; oldest check {oldest}.",
                              source=t(ORIGIN_LABELS.get(f.source, f.source)), count=n(f.count),
                              by_source=n(f.by_source), by_hand=n(f.by_hand), unconfirmed=n(f.unconfirmed),
                              gone=n(f.gone), oldest=t.short_date(f.oldest) if f.oldest else t("never"))))
    waiting = await ctx.db.scalar(select(func.count()).select_from(FundingCandidate).where(
        FundingCandidate.status == "new")) or 0
    out.append(("data", t("Funding candidates waiting for a facilitator: {count}.", count=n(waiting))))
    return out
