"""The curation loop: facilitators keep Funding Lane true.

`!funding candidates`, `!funding accept <n> [field value …]`, `!funding dismiss <n>` (new Dutch
subsidy regulations found by `dsih-bot refresh funding --source officiele-bekendmakingen`),
`!funding verify <id> [field value …]` (a check by hand, with corrections) and `!funding stale`
(the oldest checks and the records gone from their source); the facilitators' room gets a
summary of new candidates once a day."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rapidfuzz import process
from sqlalchemy import select

from bot.framework import Int, Role, Text, Word, argument
from bot.framework.errors import BadArgument
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape, md_link
from commands.funding.commands import (
    EDITABLE, LEVEL_LABELS, check_text, cog, funding, parse_field_value, status_text, summary_line, title_of,
    validation_message,
)
from storage import topics
from storage.funding import changes as change_log
from storage.funding.candidates import record_values
from storage.funding.curation import CorrectionError, parse_corrections, stale_order, today_in
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.funding.records import FUNDING_INDEX, InstrumentRecord, record_of, search_fields
from storage.models.core import AuditLog, ScheduledJob

SUMMARY_JOB = "funding-candidates-summary"
SUMMARY_GROUP = "funding-candidates-summary"
# Fields a check by hand or an accepted candidate may correct: what `!funding set` may, except
# the check itself (set by the command) .
CORRECTABLE = tuple(f for f in EDITABLE if f not in ("last_checked", "checked_by"))
ACCEPT_FIELDS = ("id", *CORRECTABLE)
STALE_SHOWN = 25


# --------------------------------------------------------------------------- corrections
def _corrections(ctx, raw: str | None, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    try:
        return parse_corrections(raw, fields)
    except CorrectionError as exc:
        raise BadArgument(exc.reason, **exc.params) from None


def _validated(ctx, record: dict, changes: list[tuple[str, str]]) -> InstrumentRecord:
    for name, raw in changes:
        record[name] = parse_field_value(name, raw)
    try:
        return InstrumentRecord.model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "?"
        msgid, params = validation_message(err, where)
        raise BadArgument("That value is not valid for {field}: {error}", field=where,
                          error=ctx.t(msgid, **params)) from None


def _plain(v):
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v.isoformat() if hasattr(v, "isoformat") else v


async def _instrument(ctx, doc_id: str) -> FundingInstrument:
    row = await ctx.db.get(FundingInstrument, doc_id.lower())
    if row is None:
        ids = list((await ctx.db.scalars(select(FundingInstrument.id))).all())
        close = [m[0] for m in process.extract(doc_id.lower(), ids, limit=3, score_cutoff=60)]
        raise BadArgument("There is no funding instrument with id {value}.", value=doc_id[:120], suggestions=close)
    return row


# --------------------------------------------------------------------------- !funding verify
@funding.subcommand("verify", dutch=("controleer", "gecontroleerd"), role=Role.FACILITATOR)
@argument("id", Word(max_length=120), help=N_("the instrument id"))
@argument("corrections", Text(max_length=5000), rest=True, required=False,
          help=N_("corrections as field value pairs, e.g. grant_max_eur 50000"))
async def funding_verify(ctx, id, corrections):
    """Say you checked a record at its official source today, optionally with corrections (logged)."""
    row = await _instrument(ctx, id)
    changes = _corrections(ctx, corrections, CORRECTABLE)
    rec = _validated(ctx, record_of(row), changes)
    new = rec.to_row()
    changed = {name: (_plain(getattr(row, name)), _plain(new[name])) for name, _ in changes
               if getattr(row, name) != new[name]}
    before = change_log.snapshot(row, ctx.now)
    for name in changed:
        setattr(row, name, new[name])
    row.last_checked, row.checked_by = today_in(ctx.t.tz, ctx.now), ctx.sender
    row.updated_at, row.updated_by = ctx.now, ctx.sender
    if changed:   # a correction its followers hear of (a deadline moved earlier: at once)
        change_log.record(ctx.db, row, before, ctx.now, source="chat", by=ctx.sender)
    await ctx.db.flush()
    await FUNDING_INDEX.upsert(ctx.db, row.id, search_fields(row))
    ctx.db.add(AuditLog(actor=ctx.sender, action="funding.verify", target=row.id,
                        detail={"changed": {k: {"old": o, "new": n} for k, (o, n) in changed.items()}}, at=ctx.now))
    t = ctx.t
    lines = [t("Thank you: {id} is now {checked}.", id=f"`{row.id}`", checked=check_text(t, row))]
    if changed:
        lines.append(t.n("{count} field corrected: {fields}.", "{count} fields corrected: {fields}.", len(changed),
                         fields=", ".join(f"`{k}`" for k in changed)))
    lines.append(summary_line(t, row, ctx.now))
    await ctx.reply("\n\n".join(lines))


# --------------------------------------------------------------------------- !funding stale
@funding.subcommand("stale", dutch=("verouderd", "controleren"), role=Role.FACILITATOR)
async def funding_stale(ctx):
    """The records to check first: gone from their source, never checked, or checked longest ago."""
    t, now = ctx.t, ctx.now
    rows = sorted((await ctx.db.scalars(select(FundingInstrument))).all(), key=stale_order)
    if not rows:
        await ctx.reply(t("There are no funding records yet."))
        return
    gone = sum(1 for r in rows if r.stale)
    shown = [r for r in rows if r.stale] + [r for r in rows if not r.stale][:STALE_SHOWN]
    items = []
    for n, r in enumerate(shown, 1):
        note = t("no longer in its source") if r.stale else check_text(t, r)
        items.append(f"**{n}. {md_link(title_of(r, t.lang), r.url)}** — {note} · {status_text(t, r, now)} · "
                     f"`{r.id}`")
    header = t("Funding records to check first ({gone} no longer in their source, then the oldest checks):",
               gone=gone)
    footer = t("After checking one at its official source: `{prefix}funding verify <id> [field value …]`.",
               prefix=ctx.settings.bot.command_prefix)
    await ctx.reply_pages(header, items, footer)


# --------------------------------------------------------------------------- candidates
def candidate_line(t, c: FundingCandidate) -> str:
    facts = [md_escape(c.issuer) if c.issuer else t("issuer unknown"), t(LEVEL_LABELS.get(c.level, c.level))]
    if c.published_on:
        facts.append(t("published {date}", date=t.short_date(c.published_on)))
    if c.themes:
        facts.append(", ".join(md_escape(topics.get(x).label(t.lang)) if topics.get(x) else md_escape(x)
                               for x in c.themes))
    if c.opens_on:
        facts.append(t("opens {date}", date=t.short_date(c.opens_on)))
    if c.closes_on:
        facts.append(t("closes {date}", date=t.short_date(c.closes_on)))
    if c.amount_eur is not None:
        facts.append(t("amount {amount}", amount=t.money(c.amount_eur)))
    return f"**#{c.id} {md_link(c.title[:300], c.url)}**  \n" + " · ".join(facts)


@funding.subcommand("candidates", dutch=("kandidaten",), role=Role.FACILITATOR)
async def funding_candidates(ctx):
    """New subsidy regulations from the official journals, waiting to be accepted or dismissed."""
    t, p = ctx.t, ctx.settings.bot.command_prefix
    rows = (await ctx.db.scalars(select(FundingCandidate).where(FundingCandidate.status == "new")
                                 .order_by(FundingCandidate.id))).all()
    if not rows:
        await ctx.reply(t("No candidates are waiting. New ones come from "
                          "`dsih-bot refresh funding --source officiele-bekendmakingen`."))
        return
    header = t.n("{count} candidate waiting:", "{count} candidates waiting:", len(rows))
    footer = t("Accept one as a funding record: `{prefix}funding accept <n> [field value …]` "
               "(e.g. `deadlines 2027-03-31 17:00`); or `{prefix}funding dismiss <n>`. Dates and amounts are read "
               "from the publication only when it states them plainly: check them in the text.", prefix=p)
    await ctx.reply_pages(header, [candidate_line(t, c) for c in rows], footer)


async def _candidate(ctx, number: int) -> FundingCandidate:
    c = await ctx.db.get(FundingCandidate, number)
    if c is None:
        raise BadArgument("There is no candidate #{value}.", value=number)
    if c.status != "new":
        state = ctx.t(N_("accepted as {id}"), id=c.record_id) if c.status == "accepted" else ctx.t(N_("dismissed"))
        raise BadArgument("Candidate #{value} was already decided: {state}.", value=number, state=state)
    return c


@funding.subcommand("accept", dutch=("accepteer", "overnemen"), role=Role.FACILITATOR)
@argument("number", Int(minimum=1), help=N_("the candidate number"))
@argument("corrections", Text(max_length=5000), rest=True, required=False,
          help=N_("corrections as field value pairs, e.g. id my-scheme-2027 deadlines 2027-03-31"))
async def funding_accept(ctx, number, corrections):
    """Make a candidate a funding record, with your corrections (logged; it counts as checked by hand)."""
    c = await _candidate(ctx, number)
    changes = _corrections(ctx, corrections, ACCEPT_FIELDS)
    today = today_in(ctx.t.tz, ctx.now)
    values = record_values(c, today)
    if not values.get("themes"):
        values["themes"] = []
    rec = _validated(ctx, values, changes)
    if await ctx.db.get(FundingInstrument, rec.id) is not None:
        raise BadArgument("A funding record with id {value} exists already; give another: `id <new-id>`.",
                          value=rec.id)
    row = FundingInstrument(**{**rec.to_row(), "last_checked": today, "checked_by": ctx.sender},
                            updated_at=ctx.now, updated_by=ctx.sender)
    ctx.db.add(row)
    c.status, c.decided_by, c.decided_at, c.record_id = "accepted", ctx.sender, ctx.now, row.id
    await ctx.db.flush()
    await FUNDING_INDEX.upsert(ctx.db, row.id, search_fields(row))
    ctx.db.add(AuditLog(actor=ctx.sender, action="funding.accept", target=row.id,
                        detail={"candidate": c.id, "publication": c.external_id,
                                "corrected": [k for k, _ in changes]}, at=ctx.now))
    t = ctx.t
    await ctx.reply(t("Candidate #{number} is now the funding record {id} ({checked}).", number=c.id,
                      id=f"`{row.id}`", checked=check_text(t, row)) + "\n\n" + summary_line(t, row, ctx.now))


@funding.subcommand("dismiss", dutch=("afwijzen", "verwerp"), role=Role.FACILITATOR)
@argument("number", Int(minimum=1), help=N_("the candidate number"))
@argument("reason", Text(max_length=500), rest=True, required=False, help=N_("why (optional)"))
async def funding_dismiss(ctx, number, reason):
    """Dismiss a candidate: it is not a funding instrument for the hub (logged)."""
    c = await _candidate(ctx, number)
    c.status, c.decided_by, c.decided_at = "dismissed", ctx.sender, ctx.now
    ctx.db.add(AuditLog(actor=ctx.sender, action="funding.dismiss", target=str(c.id),
                        detail={"publication": c.external_id, "reason": reason or None}, at=ctx.now))
    await ctx.reply(ctx.t("Candidate #{number} is dismissed.", number=c.id))


# --------------------------------------------------------------------------- the daily summary
def next_summary(now: datetime, at: str, tz: str) -> datetime:
    """The next `at` (HH:MM, local wall time in `tz`) after `now`."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    hh, mm = (int(x) for x in at.split(":"))
    day = local.date()
    when = datetime.combine(day, time(hh, mm), zone)
    if when <= local:
        when = datetime.combine(day + timedelta(days=1), time(hh, mm), zone)
    return when


@cog.job(SUMMARY_JOB)
async def summary_job(ctx, row) -> None:
    """Tell the facilitators' room about candidates not announced before (each once), then plan
    the next run. Nothing is sent on a day without new candidates."""
    settings = ctx.settings
    room = settings.bot.facilitators_room
    now = ctx.now
    if room:
        new = (await ctx.db.scalars(select(FundingCandidate).where(
            FundingCandidate.status == "new", FundingCandidate.announced_at.is_(None))
            .order_by(FundingCandidate.id))).all()
        if new:
            t = Translator(settings.bot.language, settings.bot.timezone)
            p = settings.bot.command_prefix
            lines = [t.n("📰 {count} new funding candidate from the official journals:",
                         "📰 {count} new funding candidates from the official journals:", len(new))]
            lines += [candidate_line(t, c) for c in new[:20]]
            if len(new) > 20:
                lines.append(t("… and {count} more.", count=len(new) - 20))
            lines.append(t("See them all with `{prefix}funding candidates`; accept with `{prefix}funding accept <n>`, "
                           "dismiss with `{prefix}funding dismiss <n>`.", prefix=p))
            ctx.send_to_room(room, "\n\n".join(lines))
            for c in new:
                c.announced_at = now
    await ctx.db.execute(ScheduledJob.__table__.delete().where(
        ScheduledJob.group_key == SUMMARY_GROUP, ScheduledJob.id != row.id, ScheduledJob.status != "pending"))
    nxt = next_summary(now, settings.funding.candidates_summary_at, settings.bot.timezone)
    await ctx.schedule(SUMMARY_JOB, nxt, {}, job_id=f"{SUMMARY_JOB}-{nxt:%Y%m%d}", group=SUMMARY_GROUP,
                       owner=ctx.services.bot_user_id, room_id="")


@cog.on_startup
async def plan_summary(services) -> None:
    """One pending summary job while a facilitators' room is configured (written here, at start,
    as every capability's first timer is: there is no handler context yet; each run plans the
    next with ctx.schedule)."""
    now = services.clock()
    async with services.db.transaction() as session:
        pending = (await session.scalars(select(ScheduledJob).where(
            ScheduledJob.group_key == SUMMARY_GROUP, ScheduledJob.status == "pending"))).all()
        if pending or not services.settings.bot.facilitators_room:
            return
        f = services.settings
        nxt = next_summary(now, f.funding.candidates_summary_at, f.bot.timezone)
        session.add(ScheduledJob(id=f"{SUMMARY_JOB}-{nxt:%Y%m%d}", kind=SUMMARY_JOB, run_at=nxt, payload={},
                                 status="pending", group_key=SUMMARY_GROUP, owner=services.bot_user_id, room_id="",
                                 attempts=0))
