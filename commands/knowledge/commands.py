"""Knowledge transfer: members share what they learned, partners' feeds flow in.

`!share <url> "<title>" [#topic …] [--kind …] [--date …] [summary…]` (`!deel`),
`!knowledge [words] [--topic …] [--kind …]` (`!kennis`), `!knowledge <n>`, and for
configured facilitators `!approve <n>` / `!reject <n> [reason]` (moderation) and `!feeds`
(commands/knowledge/feeds.py: polling, backoff and the feed status list)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.framework import Choice, Cog, Int, Role, Text, When, Word, argument, option
from bot.framework.errors import BadArgument
from bot.framework.tokens import split
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_code, md_escape, md_link
from bot.framework.topics import TopicArg, choice_error, match, options_for
from storage import topics
from storage.search import ranking, trim_stopwords
from storage.knowledge.records import (
    DATED_KINDS, KIND_LABELS, KIND_SYNONYMS, KINDS, KNOWLEDGE_INDEX, BadURL, clean_url, guess_language, index_item,
    infer_kind, infer_topics, is_passed, load_sample_data, merge_into, reindex, url_key,
)
from storage.models.core import AuditLog
from storage.knowledge.models import KnowledgeItem

cog = Cog("knowledge", N_("Knowledge"))

STATUS_LABELS = {"published": N_("published"), "pending": N_("waiting for approval"),
                 "hidden": N_("not approved")}
KIND_CHOICE = Choice(list(KINDS), synonyms=KIND_SYNONYMS)
MAX_TITLE = 300
MAX_SUMMARY = 2000
MAX_RESULTS = 50


def topic_labels(t, ids) -> str:
    return ", ".join(md_escape(topics.get(x).label(t.lang) if topics.get(x) else x) for x in ids or [])


# --------------------------------------------------------------------------- formatting
def date_text(t, item: KnowledgeItem, now: datetime) -> str | None:
    if item.kind not in DATED_KINDS or item.event_date is None:
        return None
    local = item.event_date.astimezone(t.tz)
    when = t.date(item.event_date) if (local.hour, local.minute) == (0, 0) else t.datetime(item.event_date)
    return t("{when} (passed)", when=when) if is_passed(item, now) else when


def list_item(t, item: KnowledgeItem, n: int, now: datetime) -> str:
    head = f"**{n}. {md_link(item.title, item.url)}**"
    parts = [t(KIND_LABELS.get(item.kind, item.kind))]
    when = date_text(t, item, now)
    if when:
        parts.append(when)
    if item.topics:
        parts.append(topic_labels(t, item.topics))
    if item.organisation:
        parts.append(md_escape(item.organisation))
    parts.append(f"`#{item.id}`")
    return f"{head}  \n" + " · ".join(parts)


def full_item(t, item: KnowledgeItem, now: datetime) -> str:
    lines = [f"### {md_link(item.title, item.url)}"]
    if item.summary:
        lines.append(md_escape(item.summary))
    facts = [(t("Kind"), t(KIND_LABELS.get(item.kind, item.kind)))]
    when = date_text(t, item, now)
    if when:
        facts.append((t("Date"), when))
    if item.topics:
        facts.append((t("Topics"), topic_labels(t, item.topics)))
    if item.organisation:
        facts.append((t("Organisation"), md_escape(item.organisation)))
    facts.append((t("Web address"), md_link(item.url, item.url)))
    if item.shared_by:
        facts.append((t("Shared by"), md_escape(item.shared_by)))
    elif item.feed:
        facts.append((t("From the feed"), md_link(item.feed, item.feed)))
    if item.source:
        facts.append((t("Source"), md_escape(item.source)))
    facts.append((t("Known since"), t.short_date(item.shared_at)))
    if item.status != "published":
        facts.append((t("Status"), t(STATUS_LABELS[item.status])))
    lines.append("\n".join(f"- **{k}:** {v}" for k, v in facts))
    lines.append(f"_{t('Item #{id}', id=item.id)}_")
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- sharing
def split_share_text(title: str, rest: str, title_was_quoted: bool) -> tuple[str, list[str], str]:
    """(title, #tags, summary) from what follows the URL. A quoted title stands alone;
    without quotes the title runs up to the first #tag and the words after it are the summary."""
    words = rest.split()
    tags = [w for w in words if w.startswith("#") and len(w) > 1]
    if title_was_quoted:
        summary = " ".join(w for w in words if not (w.startswith("#") and len(w) > 1))
        return title, tags, summary
    head, tail, seen_tag = [title], [], False
    for w in words:
        if w.startswith("#") and len(w) > 1:
            seen_tag = True
        elif seen_tag:
            tail.append(w)
        else:
            head.append(w)
    return " ".join(head), tags, " ".join(tail)


def _was_quoted(ctx, title: str) -> bool:
    if any(c.isspace() for c in title):
        return True  # a token with spaces can only have come from quotes
    return any(tok.quoted and tok.text == title for tok in split(ctx.incoming.body[:10_000]))


async def tell_facilitators(ctx, item: KnowledgeItem) -> None:
    room = ctx.settings.bot.facilitators_room
    if not room:
        return
    p = ctx.settings.bot.command_prefix
    t = Translator(ctx.settings.bot.language, ctx.settings.bot.timezone)  # the room's language, not the sharer's
    ctx.send_to_room(room, t("{user} shared {title} (item #{id}); it waits for approval: `{prefix}approve {id}` or "
                             "`{prefix}reject {id}`.", user=md_escape(ctx.sender), title=md_link(item.title, item.url),
                             id=item.id, prefix=p))


@cog.command("share", dutch=("deel", "delen"))
@argument("url", Word(max_length=2100), help=N_("the web address of what you share"))
@argument("title", Text(max_length=MAX_TITLE), help=N_("its title, in quotes"))
@argument("summary", Text(max_length=6000), rest=True, required=False,
          help=N_("#topics, then a short summary (optional)"))
@option("kind", KIND_CHOICE, aliases=("soort", "type"),
        help=N_("lesson, case, tool, publication, event, training or dataset"))
@option("date", When(), aliases=("datum", "op", "when"), help=N_("for events and trainings: when, e.g. 3 december 14:00"))
@option("topic", TopicArg(), aliases=("thema", "onderwerp"), multiple=True, help=N_("one of the twelve topics"))
async def share(ctx, url, title, summary=None, kind=None, date=None, topic=()):
    """Share a lesson, case, tool, publication, event, training or dataset with the hub.

    Topics come from #tags (labels or aliases in Dutch or English) or, without tags, from the
    title and summary. The same link shared twice is one item: what the second share adds is merged."""
    t = ctx.t
    try:
        link = clean_url(url)
        key = url_key(link)
    except BadURL as exc:
        raise BadArgument(str(exc), argument="url") from None
    title, tags, summary = split_share_text(title, summary or "", _was_quoted(ctx, title))
    title = " ".join(title.split())
    if len(title) < 3:
        raise BadArgument("Give the item a title of at least 3 characters, in quotes.", argument="title")
    if len(title) > MAX_TITLE:
        raise BadArgument("That text is too long ({length} characters; at most {max}).", length=len(title),
                          max=MAX_TITLE)
    if len(summary) > MAX_SUMMARY:
        raise BadArgument("That text is too long ({length} characters; at most {max}).", length=len(summary),
                          max=MAX_SUMMARY)
    chosen, unsure = list(topic), []
    for tag in tags[:12]:
        found = match(tag)
        if found.topic is not None:
            chosen.append(found.topic.id)
        elif len(found.topics) > 1:
            unsure.append(found)   # `#klimaat`: the person chooses; the share itself goes ahead
        else:
            raise choice_error(ctx, found)
    chosen = list(dict.fromkeys(chosen))
    inferred = not chosen
    topic_ids = chosen or infer_topics(title, summary)
    if kind is None:
        kind = infer_kind(title, "event" if date else "lesson")
        kind = "event" if date and kind not in DATED_KINDS else kind
    elif date and kind not in DATED_KINDS:
        raise BadArgument("Only events and trainings have a date; add --kind event or --kind training.")

    existing = await ctx.db.scalar(select(KnowledgeItem).where(KnowledgeItem.url_key == key))
    if existing is not None:
        changed = merge_into(existing, topic_ids=topic_ids, summary=summary or None,
                             event_date=date if existing.kind in DATED_KINDS else None)
        if changed:
            await ctx.db.flush()
            await index_item(ctx.db, existing)
        lines = [t("That link was already shared, as item #{id}: {title}.", id=existing.id,
                   title=md_link(existing.title, existing.url))]
        if changed:
            lines.append(t("I added what was new: {fields}.", fields=", ".join(t(_FIELD_LABELS[f]) for f in changed)))
        else:
            lines.append(t("Nothing new to add."))
        if existing.status != "published":
            lines.append(t("Its status: {status}.", status=t(STATUS_LABELS[existing.status])))
        if existing.topics:
            lines.append(t("Topics: {topics}.", topics=topic_labels(t, existing.topics)))
        await ctx.reply("\n\n".join([" ".join(lines), *unsure_tags(ctx, unsure)]))
        return

    moderated = ctx.settings.knowledge.moderation and not ctx.is_global(Role.FACILITATOR)
    item = KnowledgeItem(title=title, summary=summary or None, url=link, url_key=key, kind=kind, topics=topic_ids,
                         language=guess_language(title, summary, default=ctx.lang), event_date=date,
                         shared_by=ctx.sender, shared_at=ctx.now, status="pending" if moderated else "published")
    ctx.db.add(item)
    await ctx.db.flush()
    await index_item(ctx.db, item)
    ctx.db.add(AuditLog(actor=ctx.sender, action="knowledge.share", target=str(item.id), detail={"url": link},
                        at=ctx.now))
    lines = [t("Thank you! Shared as item #{id}: {title} ({kind}).", id=item.id, title=md_link(title, link),
               kind=t(KIND_LABELS[kind]))]
    if date:
        lines.append(t("Date: {when}.", when=t.moment(date)))
    if topic_ids and inferred:
        lines.append(t("Topics I recognised in the text: {topics}. Other topics? Share again with #tags, e.g. "
                       "`#klimaatadaptatie`.", topics=topic_labels(t, topic_ids)))
    elif topic_ids:
        lines.append(t("Topics: {topics}.", topics=topic_labels(t, topic_ids)))
    elif not unsure:
        lines.append(t("I recognised no topic; add one with a #tag, e.g. `#energietransitie` (`{prefix}topics` "
                       "lists them).", prefix=ctx.settings.bot.command_prefix))
    lines += unsure_tags(ctx, unsure)
    if moderated:
        lines.append(t("A facilitator looks at it first; I will tell you when it is visible."))
        await tell_facilitators(ctx, item)
    await ctx.reply("\n\n".join(lines))


def unsure_tags(ctx, unsure) -> list[str]:
    """For each #tag that fits several topics: the choice, each with the share to send again
    (sharing the same link again adds its topic)."""
    out = []
    for found in unsure:
        lines = [ctx.t("{tag} fits more than one topic. To add the one you mean, share the link again with its tag:",
                       tag=md_escape(found.typed))]
        lines += [f"- **{md_escape(label)}**: {md_code(command)}" for label, command in options_for(ctx, found.typed, found.topics)]
        out.append("\n".join(lines))
    return out


_FIELD_LABELS = {"topics": N_("topics"), "summary": N_("summary"), "organisation": N_("organisation"),
                 "event_date": N_("date")}


# --------------------------------------------------------------------------- finding
def _order(items: list[KnowledgeItem], now: datetime) -> list[KnowledgeItem]:
    """Keep the given order, but passed events and trainings sink to the end."""
    return ranking.sink(items, lambda i: is_passed(i, now))


async def find(ctx, query: str, topic: str | None, kind: str | None) -> list[KnowledgeItem]:
    base = select(KnowledgeItem).where(KnowledgeItem.status == "published")
    if query.strip():
        hits = await KNOWLEDGE_INDEX.search(ctx.db, query, ctx.lang, limit=200)
        ids = [int(d) for d, _ in hits if d.isdigit()]
        rows = {r.id: r for r in (await ctx.db.scalars(base.where(KnowledgeItem.id.in_(ids)))).all()} if ids else {}
        items = [rows[i] for i in ids if i in rows]
    else:
        items = list((await ctx.db.scalars(base.order_by(KnowledgeItem.shared_at.desc(), KnowledgeItem.id.desc())
                                           .limit(500))).all())
    if topic:
        items = [i for i in items if topic in (i.topics or [])]
    if kind:
        items = [i for i in items if i.kind == kind]
    return _order(items, ctx.now)[:MAX_RESULTS]


async def show_one(ctx, number: int) -> None:
    item = await ctx.db.get(KnowledgeItem, number)
    visible = item is not None and (item.status == "published" or item.shared_by == ctx.sender
                                    or ctx.is_global(Role.FACILITATOR))
    if not visible:
        raise BadArgument("There is no knowledge item #{id}.", id=number)
    await ctx.reply(full_item(ctx.t, item, ctx.now))


@cog.command("knowledge", aliases=("kb",), dutch=("kennis", "kennisbank"))
@argument("query", Text(max_length=2000), rest=True, required=False,
          help=N_("search words, or the number of one item"))
@option("topic", TopicArg(), aliases=("thema", "theme", "onderwerp"), help=N_("one of the twelve topics"))
@option("kind", KIND_CHOICE, aliases=("soort", "type"),
        help=N_("lesson, case, tool, publication, event, training or dataset"))
async def knowledge(ctx, query=None, topic=None, kind=None):
    """Find lessons, cases, tools, publications, events, trainings and datasets shared in the hub.

    Without words: the newest. Events and trainings show their date; passed ones come last."""
    t, p = ctx.t, ctx.settings.bot.command_prefix
    query = (query or "").strip()
    m = re.fullmatch(r"#?(\d{1,9})", query)
    if m and not topic and not kind:
        await show_one(ctx, int(m.group(1)))
        return
    items = await find(ctx, query, topic, kind)
    trimmed = trim_stopwords(query)
    shown = md_escape(trimmed[:120] + ("…" if len(trimmed) > 120 else ""))
    filters = []
    if topic:
        filters.append(t("topic {value}", value=f"**{topic_labels(t, [topic])}**"))
    if kind:
        filters.append(t("kind {value}", value=f"**{t(KIND_LABELS[kind])}**"))
    if not items:
        msg = (t("No knowledge items found for {query}.", query=f"“{shown}”") if query
               else t("No knowledge items match these filters."))
        await ctx.reply(msg + " " + t("Try other words, or share something yourself: `{prefix}share <link> "
                                      "\"<title>\" #topic`.", prefix=p))
        return
    if query:
        header = t.n("{count} knowledge item for {query}:", "{count} knowledge items for {query}:", len(items),
                     query=f"“{shown}”")
    else:
        header = t.n("The newest knowledge item:", "The {count} newest knowledge items:", len(items))
    if filters:
        header += "\n\n" + t("Filters: {filters}.", filters=", ".join(filters))
    lines = [list_item(t, item, n, ctx.now) for n, item in enumerate(items, 1)]
    await ctx.reply_pages(header, lines, t("Details: `{prefix}knowledge <number>`.", prefix=p))


# --------------------------------------------------------------------------- plain questions
# Words that make a question one for the shared knowledge ("welke lessen zijn er over hitte?").
QUESTION_WORDS = {
    "kennis": None, "ervaring": "lesson", "ervaringen": "lesson", "lessen": "lesson", "geleerde": "lesson",
    "lessons": "lesson", "learned": "lesson", "learnt": "lesson", "experiences": "lesson",
    "voorbeeld": "case", "voorbeelden": "case", "praktijkvoorbeelden": "case", "casus": "case",
    "casussen": "case", "cases": "case", "examples": "case",
    "handreiking": "tool", "handreikingen": "tool", "toolkit": "tool", "tools": "tool",
    "publicaties": "publication", "rapporten": "publication", "publications": "publication", "reports": "publication",
    "evenementen": "event", "bijeenkomsten": "event", "webinars": "event", "events": "event",
    "trainingen": "training", "cursussen": "training", "opleidingen": "training", "courses": "training",
    "trainings": "training", "datasets": "dataset",
}
QUESTION_FILLER = frozenset("""
welke wat zijn er is over voor van de het een in op met wie weet weten heeft hebben iets zoek ik we wij kun
kunnen kan mij me our any are there what which about on for the a an of in do does know anyone has have
shared gedeeld delen deel learned geleerd geleerde lessen lessons kennis knowledge find vind please graag
""".split())


@cog.question
async def knowledge_question(ctx, text: str) -> bool:
    words = re.findall(r"[a-zà-ÿ0-9-]+", text[:2000].lower())
    hits = [w for w in words if w in QUESTION_WORDS]
    if not hits:
        return False
    kind = next((QUESTION_WORDS[w] for w in hits if QUESTION_WORDS[w] and QUESTION_WORDS[w] not in ("lesson",)),
                None)
    query = " ".join(w for w in words if w not in QUESTION_WORDS and w not in QUESTION_FILLER)
    command = ctx.command_name(f"knowledge {query}".strip() + (f" --kind {kind}" if kind else ""))
    await ctx.reply(ctx.t("I searched the shared knowledge. (Same as `{command}`.)", command=command.replace("`", "'")))
    await knowledge.callback(ctx, query=query, topic=None, kind=kind)
    return True


# --------------------------------------------------------------------------- moderation
async def _pending_list(ctx) -> None:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    rows = list((await ctx.db.scalars(select(KnowledgeItem).where(KnowledgeItem.status == "pending")
                                      .order_by(KnowledgeItem.shared_at, KnowledgeItem.id).limit(100))).all())
    if not rows:
        await ctx.reply(t("No shared items are waiting for approval."))
        return
    lines = [f"{list_item(t, r, n, ctx.now)} · {md_escape(r.shared_by or r.feed or '')}" for n, r in enumerate(rows, 1)]
    await ctx.reply_pages(t.n("{count} item waits for approval:", "{count} items wait for approval:", len(rows)),
                          lines, t("`{prefix}approve <number>` or `{prefix}reject <number> [reason]`.", prefix=p))


async def _pending_item(ctx, number: int) -> KnowledgeItem:
    item = await ctx.db.get(KnowledgeItem, number)
    if item is None:
        raise BadArgument("There is no knowledge item #{id}.", id=number)
    if item.status != "pending":
        raise BadArgument("Item #{id} is not waiting for approval (status: {status}).", id=number,
                          status=ctx.t(STATUS_LABELS[item.status]))
    return item


@cog.command("approve", dutch=("goedkeuren", "keurgoed"), role=Role.FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), required=False, help=N_("the item number"))
async def approve(ctx, number=None):
    """Publish a shared item that waits for approval (facilitators); without a number: the waiting list."""
    if number is None:
        await _pending_list(ctx)
        return
    item = await _pending_item(ctx, number)
    # Known to the hub from now on: digests compare against shared_at, so an approved item is not missed.
    item.status, item.shared_at = "published", ctx.now
    ctx.db.add(AuditLog(actor=ctx.sender, action="knowledge.approve", target=str(item.id), detail={}, at=ctx.now))
    if item.shared_by and item.shared_by != ctx.sender:
        ut = await ctx.translator_for(item.shared_by)
        ctx.send_to_user(item.shared_by, ut("The item you shared is approved and now visible to everyone: {title} "
                                            "(item #{id}).", title=md_link(item.title, item.url), id=item.id))
    await ctx.reply(ctx.t("Approved item #{id}: {title}.", id=item.id, title=md_link(item.title, item.url)))


@cog.command("reject", dutch=("afwijzen", "afkeuren"), role=Role.FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the item number"))
@argument("reason", Text(max_length=1000), rest=True, required=False, help=N_("why (told to the sharer)"))
async def reject(ctx, number, reason=None):
    """Do not publish a shared item that waits for approval (facilitators); the sharer is told."""
    item = await _pending_item(ctx, number)
    item.status = "hidden"
    ctx.db.add(AuditLog(actor=ctx.sender, action="knowledge.reject", target=str(item.id),
                        detail={"reason": reason or ""}, at=ctx.now))
    if item.shared_by and item.shared_by != ctx.sender:
        ut = await ctx.translator_for(item.shared_by)
        msg = ut("The item you shared was not published: {title} (item #{id}).", title=md_link(item.title, item.url),
                 id=item.id)
        if reason:
            msg += " " + ut("Reason: {reason}", reason=md_escape(reason))
        ctx.send_to_user(item.shared_by, msg)
    await ctx.reply(ctx.t("Item #{id} will not be published; the sharer is told.", id=item.id))
