"""Brokerage: `!interest`, `!organisation`, `!partners`, `!introduce` (yes/no), `!offer`,
`!brokerage` for facilitators. Instruments and labs are named through the other
capabilities' `lookup` contributions (bot.framework.references), never imported.

Who sees an interest: people who registered interest in the same thing, facilitators and
(for a lab) the lab's contact. Nobody is introduced without saying yes, and a decline is
never reported to the one who asked."""
from __future__ import annotations

import re
from itertools import combinations

from sqlalchemy import func, select

from bot.framework import Cog, Int, Role, Text, argument, option
from bot.framework.errors import BadArgument, CheckFailure, NeedsChoice
from bot.framework.i18n import N_, Translator
from bot.framework.topics import choice_error, match, options_for, retyped
from bot.framework.references import Reference
from bot.framework.render import md_escape, md_link
from storage import topics
from storage.brokerage.models import BrokerProfile, Interest, Introduction
from storage.models.core import AuditLog

cog = Cog("brokerage", N_("Brokerage"))

MAX_INTERESTS = 30
KIND_LABELS = {"municipality": N_("municipality"), "province": N_("province"), "water_board": N_("water board"),
               "knowledge_institution": N_("knowledge institution"), "company": N_("company"), "other": N_("other")}
KIND_WORDS = {
    "municipality": ("municipality", "gemeente", "city", "stad", "town"),
    "province": ("province", "provincie"),
    "water_board": ("water board", "waterboard", "waterschap", "hoogheemraadschap"),
    "knowledge_institution": ("knowledge institution", "kennisinstelling", "university", "universiteit",
                              "hogeschool", "research", "onderzoek", "tno"),
    "company": ("company", "bedrijf", "business", "mkb", "sme", "startup", "onderneming"),
    "other": ("other", "anders", "overig", "ngo", "foundation", "stichting"),
}
_INTENT = re.compile(r"^(?P<thing>.+?)\s*(?:[\"“„'‘](?P<q>[^\"”“'’]*)[\"”'’]|:\s+(?P<c>.+))\s*$", re.S)


def kind_of(text: str) -> str | None:
    low = " ".join(text.lower().split())
    for kind, words in KIND_WORDS.items():
        if low in words or any(low.startswith(w) for w in words):
            return kind
    return None


def split_intent(text: str) -> tuple[str, str]:
    """`DUMAVA "retrofit our town hall"` or `DUMAVA: retrofit…` -> (thing, intent)."""
    m = _INTENT.match(text.strip())
    if not m:
        return text.strip(), ""
    return m.group("thing").strip(), (m.group("q") if m.group("q") is not None else m.group("c") or "").strip()


def _short(title: str, limit: int = 90) -> str:
    """A title for a choice list: whole words, with "…" where it was cut."""
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(" –-,:") + "…"


async def exact(ctx, text: str) -> Reference | None:
    """The thing whose id or full title is exactly `text`, or a topic named exactly."""
    low = " ".join(text.split()).lower()
    if not low:
        return None
    for lookup in ctx.services.registry.contributions("lookup"):
        for r in await lookup(ctx.db, low, ctx.now):
            if r.named(low):
                return r
    topic = match(low).topic
    if topic is not None:
        return Reference("topic", topic.id, topic.label(ctx.t.lang), themes=(topic.id,))
    return None


async def resolve_with_intent(ctx, text: str) -> tuple[Reference, str]:
    """`dumava-2026 "retrofit"`, `dumava-2026: retrofit`, or unquoted `dumava-2026 retrofit
    our hall`: the longest leading words that exactly name something, the rest is the
    intent; otherwise the quoted/colon-separated name, matched loosely."""
    raw = ctx.incoming.body.split(None, 1)[1] if len(ctx.incoming.body.split(None, 1)) > 1 else text
    thing, intent = split_intent(raw if any(q in raw for q in "\"“„:") else text)
    if intent:
        return await resolve(ctx, thing), intent
    words = text.split()
    for i in range(min(len(words), 12), 0, -1):
        found = await exact(ctx, " ".join(words[:i]))
        if found is not None:
            return found, " ".join(words[i:])
    return await resolve(ctx, text), ""


async def resolve(ctx, text: str) -> Reference:
    """The instrument, lab or topic `text` names (lookups contributed by funding and labs)."""
    text = " ".join(text.split())
    if not text:
        raise BadArgument("Name a call, a lab or a topic, e.g. `{example}`.", example=ctx.command_name("interest") + " dumava")
    refs: list[Reference] = []
    for lookup in ctx.services.registry.contributions("lookup"):
        refs.extend(await lookup(ctx.db, text, ctx.now))
    low = text.lower()
    exact = [r for r in refs if r.named(low)]
    if exact:
        return exact[0]
    named = match(text)   # the kernel's one topic reading: aliases, everyday words, a choice
    if named.topic is not None:
        topic = named.topic
        return Reference("topic", topic.id, topic.label(ctx.t.lang), themes=(topic.id,))
    if len(named.topics) > 1 and not refs:
        raise choice_error(ctx, named)
    if len(refs) == 1 and len(named.topics) < 2:
        return refs[0]
    if refs:
        # "klimaat", "dumava": topics and records by that name, each as the command to send
        # (the id tells two records with one title apart: DUMAVA 2025 and 2026).
        options = options_for(ctx, text, named.topics) if len(named.topics) > 1 else []
        options += [(_short(r.label(ctx.t.lang)), retyped(ctx, text, r.id) or r.id) for r in refs[:5]]
        raise NeedsChoice("Which one do you mean?", options=options)
    raise BadArgument("I know no call, lab or topic called “{text}”. Try `{funding}` or `{labs}` to find its id.",
                      text=md_escape(text[:80]), funding=ctx.command_name("funding"), labs=ctx.command_name("labs"))


async def reference_for(ctx, kind: str, ref_id: str) -> Reference | None:
    """A stored interest's thing as it is now (its deadline, its lab's contact)."""
    if kind == "topic":
        topic = topics.get(ref_id)
        return Reference("topic", ref_id, topic.label(ctx.t.lang) if topic else ref_id, themes=(ref_id,))
    for lookup in ctx.services.registry.contributions("lookup"):
        for r in await lookup(ctx.db, ref_id, ctx.now, exact=True):
            if r.kind == kind and r.id == ref_id:
                return r
    return None


async def title_in(ctx, kind: str, ref_id: str, stored: str, lang: str) -> str:
    """A stored interest's thing named in `lang` (a call's Dutch title, a topic's Dutch
    name) for the person a message is for; as stored when it is gone from the data."""
    if kind == "topic":
        topic = topics.get(ref_id)
        return topic.label(lang) if topic else stored
    ref = await reference_for(ctx, kind, ref_id)
    return ref.label(lang) if ref else stored


def _mention(user_id: str) -> str:
    return md_link(user_id, f"https://matrix.to/#/{user_id}")


def who(t: Translator, profile: BrokerProfile | None) -> str:
    if profile is None:
        return t("organisation not given")
    parts = [t(KIND_LABELS.get(profile.kind, profile.kind))] + ([md_escape(profile.region)] if profile.region else [])
    return f"**{md_escape(profile.organisation)}** ({', '.join(parts)})"


async def may_see(ctx, kind: str, ref_id: str, ref: Reference | None = None) -> bool:
    if ctx.has_role(Role.FACILITATOR):
        return True
    own = await ctx.db.scalar(select(Interest.id).where(Interest.user_id == ctx.sender, Interest.ref_kind == kind,
                                                        Interest.ref_id == ref_id))
    if own is not None:
        return True
    if kind == "lab":
        ref = ref or await reference_for(ctx, kind, ref_id)
        return bool(ref and ref.contact == ctx.sender)
    return False


def deadline_text(t: Translator, ref: Reference | None) -> str:
    if ref is None or ref.deadline is None:
        return ""
    return t("next deadline {when}", when=t.datetime(ref.deadline))


# --------------------------------------------------------------------------- profile
@cog.command("organisation", aliases=("organization", "org"), dutch=("organisatie",))
@argument("text", Text(max_length=400), required=False, rest=True,
          help=N_("name, kind and region, separated by commas"))
@option("named", aliases=("genoemd",), help=N_("digests may name your organisation (otherwise they only count it)"))
async def organisation(ctx, text, named):
    """Say once who you work for (shown to people interested in the same things)."""
    current = await ctx.db.get(BrokerProfile, ctx.sender)
    if not text:
        if current is None:
            await ctx.reply(ctx.t("You have not said who you work for yet: `{command} Gemeente Zwolle, municipality, "
                                  "Overijssel`.", command=ctx.command_name("organisation")))
        else:
            await ctx.reply(ctx.t("You work for {who}.", who=who(ctx.t, current)))
        return
    parts = [x.strip() for x in text.split(",")]
    name = parts[0]
    kind = kind_of(parts[1]) if len(parts) > 1 and parts[1] else None
    if len(parts) > 1 and parts[1] and kind is None:
        raise BadArgument("“{value}” is not a kind I know: municipality, province, water board, knowledge institution, "
                          "company or other.", value=md_escape(parts[1][:60]))
    if kind is None:
        kind = kind_of(name) or "other"
    region = ", ".join(x for x in parts[2:] if x)[:100]
    if len(name) < 2:
        raise BadArgument("Please give the name of your organisation.")
    if current is None:
        current = BrokerProfile(user_id=ctx.sender, organisation=name[:200], kind=kind, region=region, named=named,
                                updated_at=ctx.now)
        ctx.db.add(current)
    else:
        current.organisation, current.kind, current.region, current.named = name[:200], kind, region, named
        current.updated_at = ctx.now
    await ctx.reply(ctx.t("Noted: you work for {who}.", who=who(ctx.t, current)) + " " +
                    (ctx.t("Digests may name your organisation.") if named else
                     ctx.t("Digests only count your organisation, without its name.")))



# --------------------------------------------------------------------------- interests
@cog.command("interest", dutch=("interesse",))
@argument("text", Text(max_length=1200), required=False, rest=True,
          help=N_("a call, lab or topic, and in quotes what you want to do"))
async def interest(ctx, text):
    """Register that you work towards a call, a lab or a topic (alone: list yours)."""
    if not text:
        await _list_interests(ctx)
        return
    ref, intent = await resolve_with_intent(ctx, text)
    if len(intent) > 500:
        raise BadArgument("Please keep what you want to do to one line (at most 500 characters).")
    count = await ctx.db.scalar(select(func.count()).select_from(Interest).where(Interest.user_id == ctx.sender))
    existing = await ctx.db.scalar(select(Interest).where(Interest.user_id == ctx.sender, Interest.ref_kind == ref.kind,
                                                          Interest.ref_id == ref.id))
    if existing is not None:
        if intent:
            existing.intent = intent
        await ctx.reply(ctx.t("You already registered interest in **{title}** (#{number}); I kept it{updated}.",
                              title=md_escape(ref.label(ctx.t.lang)), number=existing.id,
                              updated=ctx.t(" with your new line") if intent else ""))
        return
    if (count or 0) >= MAX_INTERESTS:
        raise BadArgument("You already registered {count} interests; withdraw one first.", count=count)
    row = Interest(user_id=ctx.sender, ref_kind=ref.kind, ref_id=ref.id, title=ref.title[:500], intent=intent,
                   themes=list(ref.themes), created_at=ctx.now)
    ctx.db.add(row)
    await ctx.db.flush()
    others = await ctx.db.scalar(select(func.count()).select_from(Interest).where(
        Interest.ref_kind == ref.kind, Interest.ref_id == ref.id, Interest.user_id != ctx.sender))
    profile = await ctx.db.get(BrokerProfile, ctx.sender)
    lines = [ctx.t("Registered #{number}: you work towards **{title}**.", number=row.id,
                   title=md_escape(ref.label(ctx.t.lang)))]
    if others:
        lines.append(ctx.t.n("{count} other registered interest too: see `{command}`.",
                             "{count} others registered interest too: see `{command}`.", others,
                             command=ctx.command_name("partners") + f" {ref.id}"))
    lines.append(ctx.t("Only people interested in the same thing, facilitators and a lab's contact see it; "
                       "withdraw with `{command} {number}`.", command=ctx.command_name("interest drop"), number=row.id))
    if profile is None:
        lines.append(ctx.t("Who do you work for? Tell me once: `{command} Gemeente Zwolle, municipality, Overijssel`.",
                           command=ctx.command_name("organisation")))
    if ref.kind == "lab" and ref.contact and ref.contact != ctx.sender:
        t2 = await ctx.translator_for(ref.contact)
        ctx.send_to_user(ref.contact, "\n\n".join([
            "🤝 " + t2("{person} ({who}) registered interest in your lab **{lab}**:", person=_mention(ctx.sender),
                       who=who(t2, profile), lab=md_escape(ref.label(t2.lang))),
            "> " + (md_escape(intent) if intent else t2("(no line of intent)")),
            t2("Answer with an offer: `{command} {number} <your offer>`.",
               command=ctx.services.command_name("offer", t2.lang), number=row.id)]))
        lines.append(ctx.t("I told the lab's contact."))
    ctx.db.add(AuditLog(actor=ctx.sender, action="brokerage.interest", target=f"{ref.kind}:{ref.id}"[:255], detail={}))
    await ctx.reply("\n\n".join(lines))


async def _list_interests(ctx) -> None:
    rows = (await ctx.db.scalars(select(Interest).where(Interest.user_id == ctx.sender).order_by(Interest.id))).all()
    if not rows:
        await ctx.reply(ctx.t("You have registered no interests. Example: `{command} dumava \"renovate our town hall\"`.",
                              command=ctx.command_name("interest")))
        return
    items = []
    for r in rows:
        line = f"#{r.id} **{md_escape(r.title)}** ({ctx.t.short_date(r.created_at)})"
        if r.intent:
            line += f" — {md_escape(r.intent)}"
        items.append(line)
    await ctx.reply_pages(ctx.t("Your interests:"), items,
                          ctx.t("Who else: `{partners} <id>`; withdraw: `{drop} <number>`.",
                                partners=ctx.command_name("partners"), drop=ctx.command_name("interest drop")))


@interest.subcommand("drop", aliases=("withdraw", "remove"), dutch=("intrekken", "weg", "verwijder"))
@argument("number", Int(minimum=1), help=N_("the number shown by !interest"))
async def interest_drop(ctx, number):
    """Withdraw one of your interests."""
    row = await ctx.db.get(Interest, number)
    if row is None or row.user_id != ctx.sender:
        raise BadArgument("You have no interest #{value}.", value=number)
    await ctx.db.delete(row)
    await ctx.reply(ctx.t("Withdrawn: **{title}**.", title=md_escape(row.title)))


# --------------------------------------------------------------------------- partners
@cog.command("partners", dutch=("samenwerken",))
@argument("text", Text(max_length=300), rest=True, help=N_("a call, lab or topic"))
async def partners(ctx, text):
    """Who else works towards a call, lab or topic (if you registered interest in it too)."""
    ref = await resolve(ctx, text)
    if not await may_see(ctx, ref.kind, ref.id, ref):
        raise CheckFailure("Register your own interest first (`{command}`): then you see who else is interested.",
                           command=ctx.command_name("interest") + f" {ref.id}")
    rows = (await ctx.db.execute(select(Interest, BrokerProfile)
                                 .outerjoin(BrokerProfile, BrokerProfile.user_id == Interest.user_id)
                                 .where(Interest.ref_kind == ref.kind, Interest.ref_id == ref.id,
                                        Interest.user_id != ctx.sender).order_by(Interest.id))).all()
    head = ctx.t("Who else works towards **{title}**", title=md_escape(ref.label(ctx.t.lang)))
    dl = deadline_text(ctx.t, ref)
    head += (f" ({dl})" if dl else "") + ":"
    if not rows:
        await ctx.reply(head + "\n\n" + ctx.t("Nobody else yet. I will count you in the digests of people who follow this."))
        return
    items = []
    for r, prof in rows:
        line = f"#{r.id} {who(ctx.t, prof)} — " + ctx.t("since {date}", date=ctx.t.short_date(r.created_at))
        if r.intent:
            line += f"\n   “{md_escape(r.intent)}”"
        items.append(line)
    await ctx.reply_pages(head, items, ctx.t("Ask for an introduction: `{command} <number>`; they decide.",
                                             command=ctx.command_name("introduce")))


# --------------------------------------------------------------------------- introductions
@cog.command("introduce", dutch=("voorstellen", "introduceer"))
@argument("number", Int(minimum=1), help=N_("the number shown by !partners"))
async def introduce(ctx, number):
    """Ask to be introduced to someone who works towards the same thing."""
    other = await ctx.db.get(Interest, number)
    if other is None or other.user_id == ctx.sender or not await may_see(ctx, other.ref_kind, other.ref_id):
        raise BadArgument("There is no #{value} among the people you can see; see `{command}`.", value=number,
                          command=ctx.command_name("partners"))
    known = await ctx.db.scalar(select(Introduction).where(
        Introduction.requester == ctx.sender, Introduction.target == other.user_id,
        Introduction.ref_kind == other.ref_kind, Introduction.ref_id == other.ref_id))
    if known is not None:
        await ctx.reply(ctx.t("You already asked for this introduction (#{number}).", number=known.id))
        return
    intro = Introduction(requester=ctx.sender, target=other.user_id, ref_kind=other.ref_kind, ref_id=other.ref_id,
                         title=other.title, status="pending", created_at=ctx.now)
    ctx.db.add(intro)
    await ctx.db.flush()
    mine = await ctx.db.scalar(select(Interest).where(Interest.user_id == ctx.sender, Interest.ref_kind == other.ref_kind,
                                                      Interest.ref_id == other.ref_id))
    profile = await ctx.db.get(BrokerProfile, ctx.sender)
    t2 = await ctx.translator_for(other.user_id)
    title = await title_in(ctx, other.ref_kind, other.ref_id, other.title, t2.lang)
    ask = ["🤝 " + t2("{person} ({who}) also works towards **{title}** and would like to be introduced to you.",
                      person=_mention(ctx.sender), who=who(t2, profile), title=md_escape(title))]
    if mine is not None and mine.intent:
        ask.append("> " + md_escape(mine.intent))
    ask.append(t2("Do you want that? Answer `{yes}` or `{no}`. If you say no, they are not told.",
                  yes=ctx.services.command_name("introduce yes", t2.lang) + f" {intro.id}",
                  no=ctx.services.command_name("introduce no", t2.lang) + f" {intro.id}"))
    ctx.send_to_user(other.user_id, "\n\n".join(ask))
    await ctx.reply(ctx.t("I asked them privately. If they agree, I open a room with you both; "
                          "nobody is introduced without saying yes."))


async def _pending_for_me(ctx, number: int) -> Introduction:
    intro = await ctx.db.get(Introduction, number)
    if intro is None or intro.target != ctx.sender:
        raise BadArgument("Nobody asked you for introduction #{value}.", value=number)
    if intro.status != "pending":
        raise BadArgument("You already answered introduction #{value}.", value=number)
    return intro


@introduce.subcommand("yes", aliases=("accept",), dutch=("ja", "akkoord"))
@argument("number", Int(minimum=1), help=N_("the number in my message"))
async def introduce_yes(ctx, number):
    """Agree to be introduced: I open a room with you both."""
    intro = await _pending_for_me(ctx, number)
    intro.status, intro.answered_at = "accepted", ctx.now
    ref = await reference_for(ctx, intro.ref_kind, intro.ref_id)
    people = [intro.requester, intro.target]
    facilitator = ctx.settings.brokerage.facilitator
    if facilitator and facilitator not in people:
        people.append(facilitator)
    langs = []
    for person in (intro.requester, intro.target):
        t2 = await ctx.translator_for(person)
        if t2.lang not in [x.lang for x in langs]:
            langs.append(t2)
    texts = []
    for t2 in langs:
        texts.append(await _introduction(ctx, t2, intro, ref))
    t0 = langs[0]
    ctx.open_room(tuple(people), t0("Introduction: {title}", title=intro.title[:120]), "\n\n---\n\n".join(texts),
                  topic=t0("Introduced by the hub's bot: {title}", title=intro.title[:200]))
    ctx.db.add(AuditLog(actor=ctx.sender, action="brokerage.introduced", target=str(intro.id), detail={}))
    await ctx.reply(ctx.t("Thank you. I am opening a room with you both (look for the invitation)."))


async def _introduction(ctx, t: Translator, intro: Introduction, ref: Reference | None) -> str:
    lines = ["👋 " + t("Introduction: **{title}**", title=md_escape(intro.title))]
    dl = deadline_text(t, ref)
    if dl:
        lines.append(t("The call's {deadline}.", deadline=dl))
    elif intro.ref_kind == "instrument":
        lines.append(t("No deadline of this call lies ahead: check the call's page for the next round."))
    for person in (intro.requester, intro.target):
        prof = await ctx.db.get(BrokerProfile, person)
        mine = await ctx.db.scalar(select(Interest).where(Interest.user_id == person, Interest.ref_kind == intro.ref_kind,
                                                          Interest.ref_id == intro.ref_id))
        line = f"- {_mention(person)}: {who(t, prof)}"
        if mine is not None and mine.intent:
            line += f" — “{md_escape(mine.intent)}”"
        lines.append(line)
    lines.append(t("{requester} asked for this introduction and {target} said yes. Over to you!",
                   requester=_mention(intro.requester), target=_mention(intro.target)))
    return "\n\n".join(lines)


@introduce.subcommand("no", aliases=("decline",), dutch=("nee", "liever niet"))
@argument("number", Int(minimum=1), help=N_("the number in my message"))
async def introduce_no(ctx, number):
    """Decline an introduction; the one who asked is not told."""
    intro = await _pending_for_me(ctx, number)
    intro.status, intro.answered_at = "declined", ctx.now
    await ctx.reply(ctx.t("Fine, I will not introduce you. The one who asked is not told."))


# --------------------------------------------------------------------------- lab offers
@cog.command("offer", dutch=("aanbod",))
@argument("number", Int(minimum=1), help=N_("the interest number in my message"))
@argument("text", Text(max_length=2000), rest=True, help=N_("what your lab offers"))
async def offer(ctx, number, text):
    """Answer an interest in your lab with an offer (the lab's contact or a facilitator)."""
    row = await ctx.db.get(Interest, number)
    ref = await reference_for(ctx, row.ref_kind, row.ref_id) if row is not None and row.ref_kind == "lab" else None
    if row is None or ref is None or not (ref.contact == ctx.sender or ctx.has_role(Role.FACILITATOR)):
        raise BadArgument("There is no interest #{value} in a lab you answer for.", value=number)
    if len(text.strip()) < 5:
        raise BadArgument("Please say in a few words what you offer.")
    t2 = await ctx.translator_for(row.user_id)
    ctx.send_to_user(row.user_id, "\n\n".join([
        "🧪 " + t2("{person} answers your interest in **{lab}** with an offer:", person=_mention(ctx.sender),
                   lab=md_escape(row.title)),
        "> " + md_escape(text.strip())]))
    ctx.db.add(AuditLog(actor=ctx.sender, action="brokerage.offer", target=str(row.id), detail={}))
    await ctx.reply(ctx.t("I sent your offer to {person}.", person=_mention(row.user_id)))


# --------------------------------------------------------------------------- facilitators
@cog.command("brokerage", dutch=("makelaardij",), role=Role.FACILITATOR)
async def brokerage(ctx):
    """Calls and labs with the most interest, and introductions worth making."""
    top = (await ctx.db.execute(select(Interest.ref_kind, Interest.ref_id, func.max(Interest.title), func.count())
                                .group_by(Interest.ref_kind, Interest.ref_id)
                                .order_by(func.count().desc(), Interest.ref_id).limit(10))).all()
    if not top:
        await ctx.reply(ctx.t("Nobody has registered interest in anything yet."))
        return
    lines = ["**" + ctx.t("Most interest") + "**"]
    lang = ctx.t.lang
    names: dict[tuple[str, str], str] = {}

    async def name(kind: str, ref_id: str, stored: str) -> str:
        if (kind, ref_id) not in names:
            names[kind, ref_id] = await title_in(ctx, kind, ref_id, stored, lang)
        return names[kind, ref_id]
    for n, (kind, ref_id, title, count) in enumerate(top, 1):
        lines.append(f"{n}. **{md_escape(await name(kind, ref_id, title))}** ({ctx.t(kind)}): {count}")
    rows = (await ctx.db.execute(select(Interest, BrokerProfile)
                                 .outerjoin(BrokerProfile, BrokerProfile.user_id == Interest.user_id)
                                 .order_by(Interest.id))).all()
    asked = {(i.requester, i.target, i.ref_kind, i.ref_id) for i in (await ctx.db.scalars(select(Introduction))).all()}
    by_ref: dict[tuple[str, str], list] = {}
    for r, prof in rows:
        by_ref.setdefault((r.ref_kind, r.ref_id), []).append((r, prof))
    pairs = []
    for group in by_ref.values():
        for (a, pa), (b, pb) in combinations(group, 2):
            if (a.user_id, b.user_id, a.ref_kind, a.ref_id) in asked or (b.user_id, a.user_id, a.ref_kind, a.ref_id) in asked:
                continue
            complementary = (pa and pb and (pa.kind != pb.kind or (pa.region or "") != (pb.region or "")))
            pairs.append((0 if complementary else 1, a, pa, b, pb))
    pairs.sort(key=lambda p: (p[0], p[1].id, p[3].id))
    if pairs:
        lines.append("**" + ctx.t("Suggested introductions") + "**")
        for _, a, pa, b, pb in pairs[:10]:
            title = await name(a.ref_kind, a.ref_id, a.title)
            lines.append(f"- **{md_escape(title)}**: #{a.id} {who(ctx.t, pa)} ↔ #{b.id} {who(ctx.t, pb)}")
        lines.append(ctx.t("Ask either one with `{command} <number>`: they decide.", command=ctx.command_name("introduce")))
    await ctx.reply("\n".join(lines))


# Kind labels used by !brokerage for reference kinds.
_REF_KINDS = (N_("instrument"), N_("lab"), N_("topic"))
