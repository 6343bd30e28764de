"""Funding's part of the topic overview ("klimaat" alone): how many instruments, how many
open now, the first three with their state, and the commands that list the rest."""
from __future__ import annotations

from bot.framework.capability import Section
from bot.framework.render import md_code, md_link
from commands.funding.commands import Filters, find, title_of
from storage.funding.records import accepting, days_left, next_deadline_info, status_of

TOP = 3


def _line(t, n: int, r, now) -> str:
    status = status_of(r, now)
    nd = next_deadline_info(r, now)
    estimate = " " + t("(estimate)")
    if status in ("open", "invitation_only") and nd:
        state = t("open until {date} ({left})", date=t.short_date(nd.at),
                  left=t.n("{count} day left", "{count} days left", max(0, days_left(nd.at, now, t.tz))))
        state += estimate if nd.indicative else ""
    elif status == "forthcoming" and r.opens_on:
        state = t("opens {date}", date=t.short_date(r.opens_on)) + (estimate if r.dates_indicative else "")
    elif status == "continuous":
        state = t("apply any time")
    elif status == "closed":
        state = t("closed")
    elif status == "gone":
        state = t("no longer in the source: check")
    else:
        state = t("dates unknown")
    return f"{n}. {md_link(title_of(r, t.lang), r.url)} — {state}"


async def overview_section(ctx, query: str, topic) -> Section:
    t, now = ctx.t, ctx.now
    outcome = await find(ctx, query, Filters())
    # Near misses ("closest") are for a funding question; a topic overview counts exact hits
    # only, so "energie blabla" stays nonsense instead of an overview of energy.
    rows = [] if outcome.closest else outcome.rows
    if not rows:
        return Section(0, t("**Funding**: nothing found."))
    head = t.n("**Funding**: {count} instrument", "**Funding**: {count} instruments", len(rows))
    open_now = sum(accepting(r, now) for r in rows)
    if open_now:
        head += t(", {count} open now", count=open_now)
    # The commands go in the heading line: a line after a Markdown list would join its last item.
    head += " — " + t("all: {command}", command=md_code(ctx.command_name(f"funding {query}")))
    if 0 < open_now < len(rows):
        head += ", " + t("open now: {command}", command=md_code(ctx.command_name(f"funding {query} --open")))
    lines = [head, *(_line(t, n, r, now) for n, r in enumerate(rows[:TOP], 1))]
    return Section(len(rows), "\n".join(lines), tuple(tuple(r.themes or ()) for r in rows))
