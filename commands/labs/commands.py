"""Living labs: find test and experiment facilities by theme, place and distance, and ask
one for access in chat.

`!labs <words> [--theme …] [--province …] [--near <place>] [--within 50km]`, `!lab <id>`,
`!lab request <id> <what you want to test>`, `!requests`, `!request accept|decline <n> [message]`,
and plain-language questions ("welke proeftuinen zijn er voor datagedreven werken in Limburg?")."""
from __future__ import annotations

import re

from rapidfuzz import fuzz, process
from sqlalchemy import func, select

from bot.framework import Cog, Converter, Int, Role, Text, Word, argument, option
from bot.framework.errors import BadArgument, CheckFailure
from bot.framework.i18n import N_, Translator
from bot.framework.topics import TopicArg, command_word
from bot.framework.render import foreign_text, md_code, md_escape, md_link
from bot.framework import asking
from storage import topics
from storage.geo import Gazetteer, Resolution, gazetteer
from storage.labs.records import (
    LAB_WORDS,
    LABS_INDEX, MAX_RADIUS_KM, LabQuery, has_ended, has_lab_signal, load_sample_data, parse_words, reindex, search_labs,
)
from storage.models.core import AuditLog
from storage.labs.models import Lab, LabRequest
from storage.search import STOPWORDS, query_terms, tokens

cog = Cog("labs", N_("Living labs"))

# Every match is listed (paged with !more); beyond this many the answer says to narrow down.
MAX_RESULTS = 200
MAX_PENDING_REQUESTS = 20
TOP_FACILITIES = 3

SERVICE_LABELS = {"co-creation": N_("co-creation"), "exploration": N_("exploration"),
                  "experimentation": N_("experimentation"), "evaluation": N_("evaluation")}
USER_LABELS = {"municipality": N_("municipalities"), "province": N_("provinces"), "water_board": N_("water boards"),
               "central_government": N_("central government"), "company": N_("companies"), "sme": N_("SMEs"),
               "knowledge_institution": N_("knowledge institutions"), "ngo": N_("NGOs"),
               "citizens": N_("citizens"), "citizen_initiative": N_("citizen initiatives")}
STATUS_LABELS = {"pending": N_("waiting for an answer"), "accepted": N_("accepted"), "declined": N_("declined")}


def _gaz(ctx) -> Gazetteer:
    return ctx.services.extras.get("gazetteer") or gazetteer()


# --------------------------------------------------------------------------- converters
def place_error(res: Resolution) -> BadArgument:
    if res.ambiguous:
        return BadArgument("There are several places called {value}. Which one do you mean?",
                           value=res.query[:60], suggestions=[p.label for p in res.options[:6]])
    return BadArgument("I don't know a Dutch place called {value}.", value=res.query[:60],
                       suggestions=res.suggestions)


class PlaceName(Converter):
    metavar = N_("place")

    async def convert(self, raw, ctx):
        res = _gaz(ctx).resolve(raw, prefer="point")
        if res.place is None:
            raise place_error(res)
        return res.place


class ProvinceName(Converter):
    metavar = N_("province")

    async def convert(self, raw, ctx):
        gaz = _gaz(ctx)
        name = gaz.province(raw)
        if name is None:
            raise BadArgument("{value} is not a Dutch province.", value=raw[:60],
                              suggestions=gaz.province_suggestions(raw))
        return name


_KM = re.compile(r"^\s*(\d{1,4}(?:[.,]\d+)?)\s*(km|kilometers?|kilometres?)?\s*$", re.I)


class Distance(Converter):
    metavar = N_("distance")

    async def convert(self, raw, ctx):
        m = _KM.match(raw)
        if not m:
            raise BadArgument("{value} is not a distance. Examples: 25km, 50.", value=raw[:40])
        km = float(m.group(1).replace(",", "."))
        if not 0 < km <= MAX_RADIUS_KM:
            raise BadArgument("The distance must be between {minimum} and {maximum} km.", minimum=1,
                              maximum=int(MAX_RADIUS_KM))
        return km


# --------------------------------------------------------------------------- rendering
def theme_labels(ctx, ids) -> str:
    out = []
    for tid in ids or ():
        t = topics.get(tid)
        out.append(md_escape(t.label(ctx.lang) if t else tid))
    return ", ".join(out)


def km(ctx, distance: float) -> str:
    return ctx.t("{km} km", km=ctx.t.number(round(distance, 1) if distance < 10 else round(distance)))


def facilities_of(ctx, lab: Lab) -> list[str]:
    """Facilities in the user's language (Dutch when the record has them, else English)."""
    return (lab.facilities_nl if ctx.lang == "nl" and lab.facilities_nl else lab.facilities) or []


def place_of(lab: Lab) -> str:
    return md_escape(f"{lab.municipality}, {lab.province}" if lab.municipality else lab.province)


def _today(ctx):
    return ctx.now.astimezone(ctx.t.tz).date()


def end_text(ctx, lab: Lab) -> str | None:
    """"ended in 2018" / "ended on 17 April 2018" / "temporary site, until about 2027" / "… until 1 February 2027"."""
    if lab.ended_on is None:
        return None
    t = ctx.t
    if has_ended(lab, _today(ctx)):
        return (t("ended in {year}", year=lab.ended_on.year) if lab.end_estimate
                else t("ended on {date}", date=t.short_date(lab.ended_on)))
    return (t("temporary site, until about {year}", year=lab.ended_on.year) if lab.end_estimate
            else t("temporary site, until {date}", date=t.short_date(lab.ended_on)))


def result_item(ctx, n: int, hit) -> str:
    lab = hit.lab
    head = f"**{n}.** {md_link(lab.name, lab.website)} — {place_of(lab)}"
    if (end := end_text(ctx, lab)) is not None:
        head += f" · **{end}**"
    if hit.distance_km is not None:
        head += " · " + km(ctx, hit.distance_km)
    lines = [head]
    if lab.themes:
        lines.append(ctx.t("Themes: {themes}", themes=theme_labels(ctx, lab.themes)))
    facilities = facilities_of(ctx, lab)
    if facilities:
        lines.append(ctx.t("Facilities: {facilities}",
                           facilities="; ".join(md_escape(f) for f in facilities[:TOP_FACILITIES])))
    lines.append(ctx.t("Details: {command}", command=f"`{ctx.command_name('lab')} {lab.id}`"))
    return "\n".join(lines)


def describe_query(ctx, q: LabQuery) -> str:
    t = ctx.t
    parts = []
    if query_terms(q.text):
        parts.append(t("for {words}", words=f"“{md_escape(q.text[:120])}”"))
    if q.themes:
        parts.append(t("with theme {themes}", themes=theme_labels(ctx, q.themes)))
    if q.province:
        parts.append(t("in {province}", province=md_escape(q.province)))
    if q.near and q.within_km:
        parts.append(t("within {km} of {place}", km=km(ctx, q.within_km), place=md_escape(q.near.label)))
    elif q.near:
        parts.append(t("near {place}", place=md_escape(q.near.label)))
    return " ".join(parts)


async def answer(ctx, q: LabQuery, *, lead: str | None = None) -> None:
    """The labs for `q` in one message (`lead`, how a question was understood, first); the
    header gives the true total and every result is reachable with !more."""
    hits = await search_labs(ctx.db, q, limit=MAX_RESULTS + 1)
    note = ""
    if not hits and query_terms(q.text) and (q.province or q.themes or q.near):
        # Nothing matches the words: show what the place/theme filters give, and say so.
        fallback = LabQuery(themes=q.themes, boost_themes=q.boost_themes, province=q.province, near=q.near,
                            within_km=q.within_km)
        hits = await search_labs(ctx.db, fallback, limit=MAX_RESULTS + 1)
        if hits:
            note = ctx.t("No lab matches the words {words}; these are all labs that fit the other criteria.",
                         words=f"“{md_escape(q.text[:120])}”")
    described = describe_query(ctx, q)
    p = ctx.settings.bot.command_prefix
    if not hits:
        msg = ctx.t("I found no living labs {query}.", query=described) if described else ctx.t("I found no living labs.")
        lines = [lead, msg] if lead else [msg]
        nearest = await _nearest_outside(ctx, q)
        if nearest is not None:
            lines.append(ctx.t("The nearest is {lab} in {place}, {km} away.", lab=md_link(nearest.lab.name,
                                                                                         nearest.lab.website),
                               place=place_of(nearest.lab), km=km(ctx, nearest.distance_km)) + " " +
                         ctx.t("Details: {command}", command=f"`{ctx.command_name('lab')} {nearest.lab.id}`"))
        # Each theme as the reader types it after --thema/--theme (never an English id in Dutch).
        themes = ", ".join(md_code(command_word(t, ctx.lang)) for t in topics.all_topics())
        # Suggest what the search actually had: a radius only when there was one.
        if q.near and q.within_km:
            lines.append(ctx.t("Try fewer words, another theme, or a larger radius (e.g. `--within 100km`). "
                               "All themes: {themes}.", themes=themes))
        elif q.province:
            lines.append(ctx.t("Try fewer words, another theme, or another province. All themes: {themes}.",
                               themes=themes))
        else:
            lines.append(ctx.t("Try fewer words or another theme. All themes: {themes}.", themes=themes))
        await ctx.reply("\n\n".join(lines))
        return
    more = len(hits) > MAX_RESULTS
    hits = hits[:MAX_RESULTS]
    count = f"{len(hits)}+" if more else str(len(hits))
    header = (ctx.t("**Living labs {query}** ({count} found):", query=described, count=count) if described
              else ctx.t("**Living labs** ({count}):", count=count))
    if more:
        header += "\n\n" + ctx.t("These are the best {count}; add words, a theme or a place to narrow down.",
                                  count=len(hits))
    if note:
        header += "\n\n" + note
    distances = [h.distance_km for h in hits if h.distance_km is not None]
    if q.near and not q.within_km and distances:
        # Near a place without a radius: every lab, nearest first. Say how far that reaches.
        header += "\n\n" + ctx.t("Nearest first, up to {km} from {place}; narrow down with `{option} 25km`.",
                                  km=km(ctx, max(distances)), place=md_escape(q.near.label),
                                  option="--binnen" if ctx.t.lang == "nl" else "--within")
    if lead:
        header = lead + "\n\n" + header
    items = [result_item(ctx, n, h) for n, h in enumerate(hits, 1)]
    footer = ctx.t("Ask a lab for access: `{prefix}lab request <id> <what you want to test>`.", prefix=p)
    await ctx.reply_pages(header, items, footer)


async def _nearest_outside(ctx, q: LabQuery):
    """With a radius that holds no lab: the nearest lab that fits everything else."""
    if not (q.near and q.within_km):
        return None
    wider = LabQuery(text=q.text, themes=q.themes, boost_themes=q.boost_themes, province=q.province, near=q.near)
    hits = await search_labs(ctx.db, wider, limit=MAX_RESULTS)
    if not hits and query_terms(q.text):
        wider.text = ""
        hits = await search_labs(ctx.db, wider, limit=MAX_RESULTS)
    hits = [h for h in hits if h.distance_km is not None]
    return min(hits, key=lambda h: h.distance_km) if hits else None


# --------------------------------------------------------------------------- !labs
@cog.command("labs", aliases=("livinglabs",), dutch=("proeftuinen", "fieldlabs"))
@argument("words", Text(max_length=2000), required=False, rest=True,
          help=N_("what you want to test or work on; may include a place, e.g. near Zwolle"))
@option("theme", TopicArg(), aliases=("thema",), multiple=True, help=N_("only labs with this theme (repeatable)"))
@option("province", ProvinceName(), aliases=("provincie",), help=N_("only labs in this province"))
@option("near", PlaceName(), aliases=("bij", "nabij"), help=N_("sort by distance from this place"))
@option("within", Distance(), aliases=("binnen", "radius"), help=N_("only labs within this distance of --near, e.g. 50km"))
async def labs(ctx, words, theme, province, near, within):
    """Find living labs and test facilities by theme, place and distance.

    Examples: `!labs climate adaptation --near Zwolle`, `!proeftuinen datagedreven in Limburg`,
    `!labs --theme mobility --near Eindhoven --within 30km`."""
    q = parse_words(words or "", _gaz(ctx))
    for res in q.unresolved:
        raise place_error(res)
    q.themes = list(dict.fromkeys(theme or []))
    if province:
        q.province = province
    if near and near.kind == "province":
        q.province = q.province or near.name   # "--near Limburg": a province is an area, not a point
    elif near:
        q.near = near
    if within is not None:
        q.within_km = within
    if q.within_km and not q.near:
        raise BadArgument("--within needs a place to measure from: add --near <place>.")
    await answer(ctx, q)


# --------------------------------------------------------------------------- !lab
async def find_lab(ctx, raw: str) -> Lab:
    key = raw.strip().lower()
    lab = await ctx.db.get(Lab, key[:100])
    if lab is not None:
        return lab
    rows = (await ctx.db.execute(select(Lab.id, Lab.name))).all()
    by_name = {name.lower(): lab_id for lab_id, name in rows}
    if key in by_name:
        return await ctx.db.get(Lab, by_name[key])
    choices = [r[0] for r in rows] + [r[1] for r in rows]
    close = []
    for m in process.extract(key[:100], choices, scorer=fuzz.WRatio, limit=6, score_cutoff=70):
        lab_id = m[0] if m[0] in {r[0] for r in rows} else by_name.get(m[0].lower())
        if lab_id and lab_id not in close:
            close.append(lab_id)
    raise BadArgument("There is no living lab with the id {value}.", value=raw[:100], suggestions=close[:3])


def profile(ctx, lab: Lab) -> str:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    lines = [f"**{md_escape(lab.name)}** (`{lab.id}`)"]
    facts = [t("Place: {place}", place=place_of(lab))]
    if (end := end_text(ctx, lab)) is not None:
        ends = list(dict.fromkeys(re.findall(r"https?://[^\s;,)]+", lab.end_source or "")))
        facts.insert(0, f"**{end}**" + (" — " + t("source: {source}", source=" ; ".join(md_link(u, u) for u in ends))
                                        if ends else ""))
    if lab.host_organisation:
        facts.append(t("Host: {host}", host=md_escape(lab.host_organisation)))
    if lab.ecosystem:
        facts.append(t("DSIH ecosystem: {ecosystem}", ecosystem=md_escape(lab.ecosystem)))
    if lab.themes:
        facts.append(t("Themes: {themes}", themes=theme_labels(ctx, lab.themes)))
    if lab.services:
        facts.append(t("Services: {services}", services=", ".join(t(SERVICE_LABELS.get(s, s)) for s in lab.services)))
    if lab.target_users:
        facts.append(t("For: {users}", users=", ".join(t(USER_LABELS.get(u, u)) for u in lab.target_users)))
    facts.append(t("ENoLL member: {answer}", answer=t("yes") if lab.enoll_member else t("not confirmed")))
    if lab.cost_note:
        facts.append(t("Costs: {note}", note=foreign_text(t, lab.cost_note)))
    if lab.website:
        facts.append(t("Website: {link}", link=md_link(lab.website, lab.website)))
    if lab.contact:
        contact = lab.contact
        link = f"https://matrix.to/#/{contact}" if lab.matrix_contact else (
            f"mailto:{contact}" if "@" in contact and not contact.startswith("http") else contact)
        facts.append(t("Contact: {contact}", contact=md_link(contact, link)))
    lines.append("\n".join(f"- {f}" for f in facts))
    facilities = facilities_of(ctx, lab)
    if facilities:
        lines.append(t("**Facilities**") + "\n" + "\n".join(f"- {md_escape(f)}" for f in facilities))
    description = (lab.description_nl or lab.description) if ctx.lang == "nl" else (lab.description or lab.description_nl)
    if description:
        lines.append(foreign_text(t, description))
    src = []
    urls = list(dict.fromkeys(re.findall(r"https?://[^\s;,)]+", lab.source or "")))
    if urls:   # web addresses only: notes and file paths in the source are for maintainers
        src.append(t("Source: {source}", source=" ; ".join(md_link(u, u) for u in urls)))
    if lab.last_checked:
        # Like funding: a facilitator's check says so; a batch date nobody confirmed says "not since".
        who = (lab.checked_by or "").strip()
        src.append(t("checked by hand on {date}", date=t.short_date(lab.last_checked))
                   if who.startswith("@") or who.startswith("former-member:")
                   else t("not checked since {date}", date=t.short_date(lab.last_checked)))
    if src:
        lines.append("_" + " · ".join(src) + "_")
    if has_ended(lab, _today(ctx)):
        # Kept as history: findable, but nobody can ask it for access.
        lines.append(t("This lab has stopped; it is listed as history. Look for a lab that runs now with "
                       "`{prefix}labs <what you want to test>`.", prefix=p))
    else:
        lines.append(t("Ask for access: `{prefix}lab request {id} <what you want to test>`.", prefix=p, id=lab.id))
    return "\n\n".join(lines)


@cog.command("lab", dutch=("proeftuin",))
@argument("id", Word(max_length=100), help=N_("the lab's id, as shown by !labs"))
async def lab(ctx, id):
    """Show everything about one living lab."""
    found = await find_lab(ctx, id)
    await ctx.reply(profile(ctx, found))


# --------------------------------------------------------------------------- requests
def _mention(user_id: str) -> str:
    return md_link(user_id, f"https://matrix.to/#/{user_id}")


async def _recipients(ctx, found: Lab) -> tuple[str, list[tuple[str, str]]]:
    """(who, [(kind, target)]) where kind is "user" or "room"."""
    if found.matrix_contact:
        return "contact", [("user", found.matrix_contact)]
    bot = ctx.settings.bot
    if bot.facilitators_room:
        return "facilitators", [("room", bot.facilitators_room)]
    if bot.facilitators:
        return "facilitators", [("user", u) for u in bot.facilitators]
    if bot.admins:
        return "facilitators", [("user", u) for u in bot.admins]
    return "nobody", []


def request_message(t, prefix: str, req: LabRequest, found: Lab) -> str:
    return "\n\n".join([
        "📨 " + t("Access request #{number} for **{lab}** from {requester}:", number=req.id,
                  lab=md_escape(found.name), requester=_mention(req.requester)),
        "> " + md_escape(req.text),
        t("Answer with `{prefix}request accept {number} <message>` or `{prefix}request decline {number} <message>`.",
          prefix=prefix, number=req.id),
    ])


@lab.subcommand("request", aliases=("access",), dutch=("aanvraag", "verzoek", "toegang"))
@argument("id", Word(max_length=100), help=N_("the lab's id, as shown by !labs"))
@argument("text", Text(max_length=2000), rest=True, help=N_("what you want to test or use there"))
async def lab_request(ctx, id, text):
    """Ask a living lab for access; the lab's contact or a facilitator answers."""
    found = await find_lab(ctx, id)
    if has_ended(found, _today(ctx)):
        raise BadArgument("{lab} has stopped ({end}): it cannot take requests. It stays listed as history.",
                          lab=found.name, end=end_text(ctx, found))
    pending = await ctx.db.scalar(select(func.count()).select_from(LabRequest).where(
        LabRequest.requester == ctx.sender, LabRequest.status == "pending"))
    if (pending or 0) >= MAX_PENDING_REQUESTS:
        raise BadArgument("You already have {count} requests waiting for an answer.", count=pending)
    if len(text.strip()) < 5:
        raise BadArgument("Please say in a few words what you want to test.")
    req = LabRequest(lab_id=found.id, requester=ctx.sender, room_id=ctx.incoming.room_id, text=text.strip(),
                     status="pending", created_at=ctx.now, updated_at=ctx.now)
    ctx.db.add(req)
    await ctx.db.flush()  # the number users see
    who, targets = await _recipients(ctx, found)
    p = ctx.settings.bot.command_prefix
    for kind, target in targets:
        if kind == "room":
            t2 = Translator(ctx.settings.bot.language, ctx.settings.bot.timezone)
            ctx.send_to_room(target, request_message(t2, p, req, found))
        else:
            t2 = await ctx.translator_for(target)
            ctx.send_to_user(target, request_message(t2, p, req, found))
    ctx.db.add(AuditLog(actor=ctx.sender, action="labs.request", target=str(req.id),
                        detail={"lab": found.id, "sent_to": who}))
    sent = {"contact": ctx.t("I sent it to the lab's contact."),
            "facilitators": ctx.t("I sent it to the hub's facilitators, who will contact the lab."),
            "nobody": ctx.t("Nobody is configured to receive requests yet; an admin will see it with `{prefix}requests --open`.",
                            prefix=p)}[who]
    await ctx.reply(ctx.t("Your access request #{number} for **{lab}** is recorded.", number=req.id,
                          lab=md_escape(found.name)) + " " + sent + " " +
                    ctx.t("I will tell you when they answer; see `{prefix}requests`.", prefix=p))


@cog.command("requests", dutch=("verzoeken", "aanvragen"))
@option("open", aliases=("open-voor-mij", "todo"), help=N_("requests waiting for your answer (lab contacts and facilitators)"))
async def requests_(ctx, open):
    """List your access requests to living labs and their status."""
    p = ctx.settings.bot.command_prefix
    if open:
        stmt = select(LabRequest, Lab).join(Lab, Lab.id == LabRequest.lab_id).where(LabRequest.status == "pending")
        if not ctx.has_role(Role.FACILITATOR):
            stmt = stmt.where(Lab.contact == ctx.sender)
        rows = (await ctx.db.execute(stmt.order_by(LabRequest.id))).all()
        if not rows:
            await ctx.reply(ctx.t("No requests are waiting for your answer."))
            return
        items = [f"#{r.id} — **{md_escape(l.name)}** — {_mention(r.requester)}: {md_escape(r.text[:300])}"
                 for r, l in rows]
        await ctx.reply_pages(ctx.t("Requests waiting for an answer:"), items,
                              ctx.t("Answer with `{prefix}request accept <number> <message>` or "
                                    "`{prefix}request decline <number> <message>`.", prefix=p))
        return
    rows = (await ctx.db.execute(select(LabRequest, Lab).join(Lab, Lab.id == LabRequest.lab_id).where(
        LabRequest.requester == ctx.sender).order_by(LabRequest.id.desc()))).all()
    if not rows:
        await ctx.reply(ctx.t("You have not asked any lab for access yet. Use `{prefix}lab request <id> <what you want to test>`.",
                              prefix=p))
        return
    items = []
    for r, l in rows:
        line = f"#{r.id} — **{md_escape(l.name)}** — {ctx.t(STATUS_LABELS.get(r.status, r.status))} ({ctx.t.short_date(r.created_at)})"
        if r.response:
            line += "\n   " + ctx.t("Answer: {message}", message=md_escape(r.response[:500]))
        items.append(line)
    await ctx.reply_pages(ctx.t("Your access requests:"), items)


async def _load_request(ctx, number: int) -> tuple[LabRequest, Lab]:
    req = await ctx.db.get(LabRequest, number)
    if req is None:
        raise BadArgument("There is no request #{value}.", value=number)
    found = await ctx.db.get(Lab, req.lab_id)
    return req, found


def _may_answer(ctx, found: Lab | None) -> bool:
    return ctx.has_role(Role.FACILITATOR) or bool(found and found.matrix_contact == ctx.sender)


@cog.command("request", dutch=("verzoek",))
@argument("number", Int(minimum=1), help=N_("the request number"))
async def request(ctx, number):
    """Show one access request (yours, or one you may answer)."""
    req, found = await _load_request(ctx, number)
    if req.requester != ctx.sender and not _may_answer(ctx, found):
        raise BadArgument("There is no request #{value}.", value=number)
    p = ctx.settings.bot.command_prefix
    lines = [ctx.t("Request #{number} for **{lab}** from {requester}, {date}: {status}.", number=req.id,
                   lab=md_escape(found.name if found else req.lab_id), requester=_mention(req.requester),
                   date=ctx.t.short_date(req.created_at), status=ctx.t(STATUS_LABELS.get(req.status, req.status))),
             "> " + md_escape(req.text)]
    if req.response:
        lines.append(ctx.t("Answer: {message}", message=md_escape(req.response)))
    if req.status == "pending" and _may_answer(ctx, found):
        lines.append(ctx.t("Answer with `{prefix}request accept {number} <message>` or "
                           "`{prefix}request decline {number} <message>`.", prefix=p, number=req.id))
    await ctx.reply("\n\n".join(lines))


async def _decide(ctx, number: int, message: str | None, status: str) -> None:
    req, found = await _load_request(ctx, number)
    if not _may_answer(ctx, found):
        raise CheckFailure("Only the lab's contact or a facilitator can answer request #{number}.", number=number)
    if req.status != "pending":
        raise BadArgument("Request #{value} was already answered ({status}).", value=number,
                          status=ctx.t(STATUS_LABELS.get(req.status, req.status)))
    req.status, req.responder, req.response, req.updated_at = status, ctx.sender, (message or None), ctx.now
    ctx.db.add(AuditLog(actor=ctx.sender, action=f"labs.request.{status}", target=str(req.id), detail={}))
    t2 = await ctx.translator_for(req.requester)
    lab_name = md_escape(found.name if found else req.lab_id)
    if status == "accepted":
        note = "✅ " + t2("Your access request #{number} for **{lab}** was accepted by {responder}.",
                          number=req.id, lab=lab_name, responder=_mention(ctx.sender))
    else:
        note = "❌ " + t2("Your access request #{number} for **{lab}** was declined by {responder}.",
                          number=req.id, lab=lab_name, responder=_mention(ctx.sender))
    if message:
        note += "\n\n> " + md_escape(message)
    if status == "accepted" and found and found.contact and not found.matrix_contact:
        note += "\n\n" + t2("Contact: {contact}", contact=md_escape(found.contact))
    ctx.send_to_user(req.requester, note)
    done = ctx.t("Request #{number} is now accepted; I told {requester}.", number=req.id, requester=_mention(req.requester)) \
        if status == "accepted" else \
        ctx.t("Request #{number} is now declined; I told {requester}.", number=req.id, requester=_mention(req.requester))
    await ctx.reply(done)


@request.subcommand("accept", dutch=("accepteer", "goedkeuren", "akkoord"))
@argument("number", Int(minimum=1), help=N_("the request number"))
@argument("message", Text(max_length=2000), required=False, rest=True, help=N_("a message for the requester"))
async def request_accept(ctx, number, message):
    """Accept an access request (the lab's contact or a facilitator)."""
    await _decide(ctx, number, message, "accepted")


@request.subcommand("decline", aliases=("reject",), dutch=("weiger", "afwijzen"))
@argument("number", Int(minimum=1), help=N_("the request number"))
@argument("message", Text(max_length=2000), required=False, rest=True, help=N_("a message for the requester"))
async def request_decline(ctx, number, message):
    """Decline an access request (the lab's contact or a facilitator)."""
    await _decide(ctx, number, message, "declined")


# --------------------------------------------------------------------------- plain language
@cog.question
async def lab_named_question(ctx, text: str) -> bool:
    """"tell me more about The Green Village", "vertel me meer over de ceuvel": the profile."""
    name = asking.named_in(text)
    if not name:
        return False
    key = " ".join(tokens(name))
    words = [w for w in key.split() if w not in STOPWORDS and w not in LAB_WORDS]
    if not words:
        return False
    rows = (await ctx.db.execute(select(Lab.id, Lab.name))).all()
    named = [lab_id for lab_id, lab_name in rows
             if set(words) <= set(tokens(f"{lab_name} {lab_id.replace('-', ' ')}"))]
    if len(named) != 1:
        return False
    await ctx.reply(profile(ctx, await ctx.db.get(Lab, named[0])))
    return True


@cog.question
async def labs_question(ctx, text: str) -> bool:
    if not has_lab_signal(text):
        return False
    q = parse_words(text, _gaz(ctx))
    if q.unresolved:
        res = q.unresolved[0]
        err = place_error(res)
        msg = ctx.t(err.message, **{k: md_escape(v) if isinstance(v, str) else v for k, v in err.params.items()
                                    if k != "suggestions"})
        sugg = err.params.get("suggestions")
        if sugg:
            msg += " " + ctx.t("Did you mean: {names}?", names=", ".join(md_escape(s) for s in sugg))
        await ctx.reply("⚠️ " + msg)
        return True
    described = describe_query(ctx, q)
    lead = ctx.t("I understood: living labs {query}. (Same as `{command}`.)", query=described,
                 command=command_for(ctx, q)) if described else None
    await answer(ctx, q, lead=lead)
    return True


def command_for(ctx, q: LabQuery) -> str:
    parts = ["labs"]
    if query_terms(q.text):
        parts.append(q.text[:120])
    if q.province:
        parts.append(f"--province {q.province}")
    if q.near:
        name = q.near.name if " " not in q.near.name else f'"{q.near.name}"'
        parts.append(f"--near {name}")
    if q.within_km:
        parts.append(f"--within {q.within_km:g}km")
    return ctx.command_name(" ".join(parts)).replace("`", "'")


# --------------------------------------------------------------------------- start-up and stats


@cog.on_startup
async def load_gazetteer(services) -> None:
    services.extras["gazetteer"] = gazetteer()


async def stats(session):
    return [(N_("lab access requests waiting"), (await session.scalar(
                select(func.count()).select_from(LabRequest).where(LabRequest.status == "pending"))) or 0)]
