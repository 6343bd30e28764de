"""Funding Lane: find funding instruments in Dutch or English, with live deadline awareness.

`!funding <words> [filters]`, `!funding <id>`, `!deadlines [30d]`, plain-language questions
("is er subsidie voor klimaatadaptatie voor gemeenten?") and `!funding set` for facilitators."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from pydantic import ValidationError
from rapidfuzz import fuzz, process
from sqlalchemy import select

from bot.framework import Choice, Cog, Converter, Duration, Money, Role, Text, Word, argument, option
from bot.framework.errors import BadArgument
from bot.framework.i18n import N_
from bot.framework.topics import TopicArg, command_word
from bot.framework.render import foreign_text, md_escape, md_link
from bot.framework.paging import LazyItems
from bot.framework import asking
from commands.funding.amounts import amounts_in, year_window
from commands.funding import deadline_words
from storage import topics
from storage.funding import changes
from storage.funding.records import (
    APPLICANTS, FIELDS, FUNDING_INDEX, LEVELS, InstrumentRecord, accepting, deadline_infos, deadlines_of, days_left,
    is_outdated, next_deadline, next_deadline_info, opens_at, record_of, reindex, search_fields,
    status_of,
)
from storage.models.core import AuditLog
from storage.funding.curation import check_kind
from storage.funding.models import FundingDeadline, FundingInstrument
from storage.search import STOPWORDS, bilingual, ranking, tokens, trim_stopwords

cog = Cog("funding", N_("Funding"))

LEVEL_LABELS = {"eu": N_("EU"), "national": N_("national"), "provincial": N_("provincial"),
                "regional": N_("regional"), "local": N_("local")}
STATUS_LABELS = {"open": N_("open"), "forthcoming": N_("forthcoming"), "closed": N_("closed"),
                 "continuous": N_("continuous (apply any time)"),
                 "invitation_only": N_("closed to new applicants (stage 2 by invitation)"),
                 "unknown": N_("status unknown (no dates known): check the source"),
                 "gone": N_("no longer in the source: check")}
KIND_LABELS = {"grant": N_("grant"), "procurement": N_("procurement, not a grant"), "loan": N_("loan"),
               "guarantee": N_("guarantee"), "prize": N_("prize")}
PORTAL_STATUS_LABELS = {"open": N_("open"), "forthcoming": N_("forthcoming"), "closed": N_("closed")}
APPLICANT_LABELS = {"municipality": N_("municipality"), "province": N_("province"), "water_board": N_("water board"),
                    "central_government": N_("central government"), "company": N_("company"), "sme": N_("SME"),
                    "knowledge_institution": N_("knowledge institution"), "ngo": N_("NGO"),
                    "citizen_initiative": N_("citizen initiative")}
MODEL_LABELS = {"single": N_("single deadline"), "two_stage": N_("two stages"),
                "multiple_cutoffs": N_("several cut-off dates"), "continuous": N_("continuous")}

LEVEL_SYNONYMS = {"europe": "eu", "europa": "eu", "european": "eu", "europees": "eu", "europese": "eu",
                  "nationaal": "national", "nationale": "national", "rijk": "national", "landelijk": "national",
                  "provinciaal": "provincial", "provinciale": "provincial", "province": "provincial",
                  "provincie": "provincial", "regionaal": "regional", "regionale": "regional", "regio": "regional",
                  "lokaal": "local", "lokale": "local", "gemeentelijk": "local", "gemeentelijke": "local",
                  "municipal": "local"}
APPLICANT_SYNONYMS = {
    "gemeente": "municipality", "gemeenten": "municipality", "gemeentes": "municipality",
    "municipalities": "municipality", "city": "municipality", "cities": "municipality",
    "provincie": "province", "provincies": "province", "provinces": "province",
    "waterschap": "water_board", "waterschappen": "water_board", "water-board": "water_board",
    "waterboard": "water_board", "rijksoverheid": "central_government", "rijk": "central_government",
    "bedrijf": "company", "bedrijven": "company", "companies": "company", "onderneming": "company",
    "mkb": "sme", "smes": "sme", "kennisinstelling": "knowledge_institution",
    "kennisinstellingen": "knowledge_institution", "universiteit": "knowledge_institution",
    "university": "knowledge_institution", "universities": "knowledge_institution",
    "ngos": "ngo", "stichting": "ngo", "stichtingen": "ngo", "vereniging": "ngo",
    "bewonersinitiatief": "citizen_initiative", "bewonersinitiatieven": "citizen_initiative",
    "burgerinitiatief": "citizen_initiative", "citizens": "citizen_initiative",
}


# --------------------------------------------------------------------------- searching
@dataclass
class Filters:
    level: str | None = None
    theme: str | None = None
    applicant: str | None = None
    open: bool = False
    closing_within: timedelta | None = None
    min_budget: int | None = None
    max_amount: int | None = None       # "tot € 50.000": the smallest grant is at most this
    opens_in: int | None = None         # "opens in 2027": a year as a window on the opening date
    closes_in: int | None = None        # "sluiten in 2027": a deadline in that year

    def steps(self, t, now) -> list[tuple[str, Callable[[FundingInstrument], bool]]]:
        """(description, predicate) per active filter, in the order they are applied."""
        out = []
        if self.level:
            out.append((t("level {value}", value=f"**{t(LEVEL_LABELS[self.level])}**"),
                        lambda r: r.level == self.level))
        if self.theme:
            topic = topics.get(self.theme)
            out.append((t("theme {value}", value=f"**{md_escape(topic.label(t.lang) if topic else self.theme)}**"),
                        lambda r: self.theme in (r.themes or [])))
        if self.applicant:
            out.append((t("applicant {value}", value=f"**{t(APPLICANT_LABELS[self.applicant])}**"),
                        lambda r: self.applicant in (r.eligible_applicants or [])))
        if self.open:
            out.append((t("open now"), lambda r: accepting(r, now)))
        if self.closing_within:
            end = now + self.closing_within
            days = max(1, round(self.closing_within.total_seconds() / 86400))
            out.append((t("deadline within {days} days", days=days),
                        lambda r: (nd := next_deadline(r, now)) is not None and nd[0] <= end))
        if self.min_budget:
            out.append((t("budget at least {amount}", amount=t.money(self.min_budget)),
                        lambda r: max(r.grant_max_eur or 0, r.budget_total_eur or 0) >= self.min_budget))
        if self.max_amount:
            out.append((t("amount up to {amount}", amount=t.money(self.max_amount)),
                        lambda r: (r.grant_min_eur or 0) <= self.max_amount))
        if self.opens_in:
            out.append((t("opens in {year}", year=self.opens_in),
                        lambda r: (o := opens_at(r)) is not None and o.year == self.opens_in))
        if self.closes_in:
            out.append((t("a deadline in {year}", year=self.closes_in),
                        lambda r: any(str(d.get("at", ""))[:4] == str(self.closes_in) for d in (r.deadlines or []))))
        return out


@dataclass
class Outcome:
    rows: list[FundingInstrument]
    text_hits: int                      # before filters (all rows when there is no query)
    emptied_by: str | None = None       # the filter that removed the last results
    before_emptied: int = 0
    applied: list[str] = field(default_factory=list)
    closest: bool = False               # no exact match: these are the closest (issue 18)
    missing: list[str] = field(default_factory=list)           # words found in no record
    corrected: dict[str, str] = field(default_factory=dict)    # typo -> word read instead


_STATUS_ORDER = {"open": 0, "continuous": 1, "forthcoming": 2, "unknown": 3, "gone": 3, "invitation_only": 4,
                 "closed": 5}


def _sort_key(now):
    def key(r):
        nd = next_deadline(r, now)
        return (_STATUS_ORDER[status_of(r, now)], nd[0].timestamp() if nd else float("inf"), r.id)
    return key


def rank(hits, by_id: dict, query: str, now) -> list[FundingInstrument]:
    """Relevance bands, open before closed inside a band (storage.search.ranking)."""
    wanted = set(topics.query_topics(query))
    pairs = [(h, by_id[h.doc_id]) for h in hits if h.doc_id in by_id]
    if not pairs:
        return []
    # The words are (part of) a topic's own name ("digitale overheid", "circular economy"):
    # then every record about the topic is about what was asked, with or without the words.
    words = set(tokens(query)) - STOPWORDS
    label = bool(words) and any(words <= set(tokens(x)) for i in wanted for x in (topics.get(i).en, topics.get(i).nl))
    bands = ranking.funding_bands([(h.coverage, h.strength, h.literal, set(r.themes or ()),
                                    ranking.OPENNESS[status_of(r, now)] == 0) for h, r in pairs], wanted, label)
    band_of = {h.doc_id: b for (h, _), b in zip(pairs, bands)}
    ranked = ranking.in_bands(
        pairs,
        relevance=lambda p: ranking.funding_relevance(p[0].score, p[0].literal, set(p[1].themes or ()), wanted),
        band=lambda p: band_of[p[0].doc_id],
        focus=lambda p: ranking.focus_of(set(p[1].themes or ()), wanted),
        openness=lambda p: ranking.OPENNESS[status_of(p[1], now)],
        key=lambda p: p[1].id)
    return [r for _, r in ranked]


async def find(ctx, query: str, filters: Filters) -> Outcome:
    now = ctx.now
    if query.strip():
        hits = await FUNDING_INDEX.hits(ctx.db, query, limit=200)
        # Only the records found (not the whole table: it may hold every EU call).
        rows = (await ctx.db.scalars(select(FundingInstrument).where(
            FundingInstrument.id.in_([h.doc_id for h in hits])))).all() if hits else []
        candidates = rank(hits, {r.id: r for r in rows}, query, now)
        if not candidates:
            # Never a bare "nothing found" when something is close: the records that match
            # some of the words (typos read as the nearest word in the data), labelled.
            near = await FUNDING_INDEX.closest(ctx.db, query, await _vocabulary(ctx), limit=200)
            rows = (await ctx.db.scalars(select(FundingInstrument).where(
                FundingInstrument.id.in_([h.doc_id for h in near.hits])))).all() if near.hits else []
            candidates = rank(near.hits, {r.id: r for r in rows}, " ".join(
                near.corrected.get(w, w) for w in tokens(query)), now)
            outcome = Outcome(candidates, len(candidates), closest=bool(candidates), missing=near.missing,
                              corrected=near.corrected)
            return _filter(ctx, outcome, filters)
    else:
        rows = list((await ctx.db.scalars(select(FundingInstrument))).all())
        candidates = sorted(rows, key=_sort_key(now))
    return _filter(ctx, Outcome(candidates, len(candidates)), filters)


async def _vocabulary(ctx) -> set[str]:
    """The words typos are read against: the records' titles and summaries, the topics'
    names and aliases, and the bilingual vocabulary."""
    vocab: set[str] = set(bilingual.vocabulary_words())
    for row in (await ctx.db.execute(select(FundingInstrument.title, FundingInstrument.title_nl,
                                            FundingInstrument.summary, FundingInstrument.summary_nl))).all():
        vocab.update(tokens(" ".join(filter(None, row))))
    for t in topics.all_topics():
        vocab.update(w for term in (*t.terms, t.en, t.nl) for w in tokens(term))
    return {w for w in vocab if w.isalpha() and w not in STOPWORDS}


def _filter(ctx, outcome: Outcome, filters: Filters) -> Outcome:
    for label, pred in filters.steps(ctx.t, ctx.now):
        outcome.applied.append(label)
        kept = [r for r in outcome.rows if pred(r)]
        if not kept and outcome.rows and outcome.emptied_by is None:
            outcome.emptied_by, outcome.before_emptied = label, len(outcome.rows)
        outcome.rows = kept
    return outcome


def suggestions_for(query: str, rows: list[FundingInstrument], limit: int = 4) -> list[str]:
    """Close terms for a query that found nothing: topic aliases and title words (typos)."""
    vocab = set()
    for r in rows:
        vocab.update(w for w in tokens(" ".join(filter(None, [r.title, r.title_nl, r.programme])))
                     if len(w) >= 4 and w not in STOPWORDS)
    for t in topics.all_topics():
        vocab.update(topics.normalize(term) for term in t.terms)
    vocab_list = sorted(vocab)
    out: list[str] = []
    words = [w for w in tokens(query[:500]) if w not in STOPWORDS and len(w) >= 3][:8]
    for w in words:
        for m in process.extract(w, vocab_list, scorer=fuzz.ratio, limit=2, score_cutoff=75):
            if m[0] != w and m[0] not in out:
                out.append(m[0])
    if not out and len(re.sub(r"[^a-z]", "", query.lower())) >= 4:   # not for "1" or "!!"
        out = [m[0] for m in process.extract(query[:100].lower(), vocab_list, scorer=fuzz.WRatio, limit=3,
                                             score_cutoff=80)]
    # A stop word ("voor", "with") is never a term to search with (issue 19: "Verwante termen: voor").
    return [w for w in out if w not in STOPWORDS and not all(p in STOPWORDS for p in w.split())][:limit]


# --------------------------------------------------------------------------- formatting
def title_of(r: FundingInstrument, lang: str) -> str:
    return (r.title_nl if lang == "nl" and r.title_nl else r.title) or r.id


def grant_text(t, r: FundingInstrument) -> str | None:
    lo, hi = r.grant_min_eur, r.grant_max_eur
    if lo is not None and hi is not None:
        return t.money(hi) if lo == hi else f"{t.money(lo)} – {t.money(hi)}"
    if hi is not None:
        return t("up to {amount}", amount=t.money(hi))
    if lo is not None:
        return t("from {amount}", amount=t.money(lo))
    return None


def status_text(t, r: FundingInstrument, now: datetime) -> str:
    status = status_of(r, now)
    if status == "continuous" and not deadlines_of(r):
        return t("continuous, until the budget runs out: check")
    return t(STATUS_LABELS[status])


def _indicative(t, indicative: bool) -> str:
    return " " + t("(estimate)") if indicative else ""


_STAGE = re.compile(r"^(stage|round|cut-off|cutoff)\s*(\d{1,2})$", re.I)
STAGE_LABELS = {"stage": N_("stage {n}"), "round": N_("round {n}"), "cut-off": N_("cut-off {n}"),
                "cutoff": N_("cut-off {n}")}
OTHER_LABELS = {"deadline": N_("deadline"), "end date": N_("end date"), "cut-off": N_("cut-off")}


def stage_label(t, label: str) -> str:
    """A deadline's label in the user's language ("stage 2" -> "fase 2"); free text as is."""
    key = label.strip().lower()
    if key in OTHER_LABELS:
        return t(OTHER_LABELS[key])
    m = _STAGE.match(key)
    return t(STAGE_LABELS[m.group(1).lower()], n=m.group(2)) if m else label


def deadline_text(t, r: FundingInstrument, now: datetime) -> str:
    status = status_of(r, now)
    nd = next_deadline_info(r, now)
    if nd:
        days = days_left(nd.at, now, t.tz)
        if days <= 0:
            left = t("today")
        else:
            left = t.n("{count} day left", "{count} days left", days)
        if status == "continuous":   # the end of a scheme one can apply to any time
            return t("runs until {date}, {left}", date=t.short_date(nd.at), left=left) + _indicative(t, nd.indicative)
        stage = f" ({md_escape(stage_label(t, nd.label))})" if nd.label and nd.label != "deadline" else ""
        return (t("next deadline {when}{stage}, {left}", when=t.datetime(nd.at), stage=stage, left=left)
                + _indicative(t, nd.indicative))
    if status == "continuous":
        return t("no fixed deadline")
    if status == "forthcoming" and r.opens_on:
        return t("opens {date}", date=t.short_date(r.opens_on)) + _indicative(t, bool(r.dates_indicative))
    dl = deadline_infos(r)
    if dl:
        return t("last deadline was {date}", date=t.short_date(dl[-1].at)) + _indicative(t, dl[-1].indicative)
    return t("no deadline known")


SOURCE_LABELS = {"eu-ft": N_("the EU portal"), "officiele-bekendmakingen": N_("the official journals")}


def check_text(t, r: FundingInstrument) -> str:
    """"checked in the EU portal on 4 December 2026", "checked by hand on 3 December 2026",
    "not checked since 25 November 2026" (a batch date nobody confirmed) or "never checked"
    (storage.funding.curation.check_kind says which)."""
    kind, source = check_kind(r)
    if kind == "never":
        return t("never checked")
    when = t.short_date(r.last_checked)
    if kind == "source":
        return t("checked in {source} on {date}", source=t(SOURCE_LABELS.get(source, source)), date=when)
    if kind == "hand":
        return t("checked by hand on {date}", date=when)
    return t("not checked since {date}", date=when)


def freshness_note(t, r: FundingInstrument, now: datetime, stale_after) -> str | None:
    """Say when a record may be out of date (last checked too long ago, or gone from its source)."""
    if not is_outdated(r, now, stale_after):
        return None
    if r.stale:
        seen = r.last_seen_at.date() if r.last_seen_at else r.last_checked
        return t("⚠ no longer listed at its source (last seen {date}): may be out of date",
                 date=t.short_date(seen) if seen else "?")
    if r.last_checked is None:
        return t("⚠ never checked: verify at the source")
    return t("⚠ {checked}: may be out of date", checked=check_text(t, r))


def _stale_after(ctx_or_settings):
    settings = getattr(ctx_or_settings, "settings", ctx_or_settings)
    return settings.funding.stale_after


def summary_line(t, r: FundingInstrument, now: datetime, stale_after=None) -> str:
    parts = [t(LEVEL_LABELS.get(r.level, r.level)), t(KIND_LABELS.get(r.kind or "grant", r.kind or "grant")),
             status_text(t, r, now)]
    if status_of(r, now) != "unknown" or deadline_infos(r):   # "unknown" already says no date is known
        parts.append(deadline_text(t, r, now))
    grant = grant_text(t, r)
    if grant:
        parts.append(t("grant {amount}", amount=grant))
    if r.cofinancing_rate is not None:
        parts.append(t("covers {share} of costs", share=t.percent(r.cofinancing_rate)))
    if stale_after is not None and (note := freshness_note(t, r, now, stale_after)):
        parts.append(note)
    return " · ".join(parts)


def list_item(t, r: FundingInstrument, n: int, now: datetime, stale_after=None) -> str:
    head = f"**{n}. {md_link(title_of(r, t.lang), r.url)}**"
    return f"{head}  \n{summary_line(t, r, now, stale_after)} · `{r.id}`"


def public_sources(source: str | None) -> list[str]:
    """The web addresses in a record's source note; notes to ourselves (file paths,
    remarks) are for maintainers and stay out of the chat."""
    return list(dict.fromkeys(re.findall(r"https?://[^\s;,)]+", source or "")))


def full_record(t, r: FundingInstrument, now: datetime, prefix: str, stale_after=None) -> str:
    lines = [f"### {md_link(title_of(r, t.lang), r.url)}"]
    if stale_after is not None and (note := freshness_note(t, r, now, stale_after)):
        lines.append(f"**{note}**")
    if t.lang == "nl" and r.title_nl and r.title_nl != r.title:
        lines.append(f"_{md_escape(r.title)}_")
    summary = (r.summary_nl if t.lang == "nl" and r.summary_nl else r.summary) or ""
    if summary:
        lines.append(foreign_text(t, summary))   # labelled where only the English text exists
    facts: list[tuple[str, str]] = [
        (t("Status"), status_text(t, r, now)),
        (t("Kind"), t(KIND_LABELS.get(r.kind or "grant", r.kind or "grant"))),
        (t("Level"), t(LEVEL_LABELS.get(r.level, r.level))),
    ]
    if r.external_status:
        facts.append((t("Status at the source"), t(PORTAL_STATUS_LABELS.get(r.external_status, r.external_status))))
    if r.programme:
        facts.append((t("Programme"), md_escape(r.programme)))
    if r.identifier:
        facts.append((t("Identifier"), md_escape(r.identifier)))
    if r.managing_body:
        facts.append((t("Managed by"), md_escape(r.managing_body)))
    if r.themes:
        facts.append((t("Themes"), ", ".join(md_escape(topics.get(x).label(t.lang) if topics.get(x) else x)
                                                 for x in r.themes)))
    if r.eligible_applicants:
        facts.append((t("Who may apply"), ", ".join(t(APPLICANT_LABELS.get(a, a)) for a in r.eligible_applicants)))
    if r.consortium_rule:
        facts.append((t("Consortium"), foreign_text(t, r.consortium_rule)))
    if r.budget_total_eur is not None:
        facts.append((t("Total budget"), t.money(r.budget_total_eur)))
    grant = grant_text(t, r)
    if grant:
        facts.append((t("Grant per project"), grant))
    if r.cofinancing_rate is not None:
        facts.append((t("Funding rate"), t("{share} of eligible costs", share=t.percent(r.cofinancing_rate))))
    if r.opens_on:
        facts.append((t("Opens"), t.date(r.opens_on) + _indicative(t, bool(r.dates_indicative))))
    facts.append((t("Deadline model"), t(MODEL_LABELS.get(r.deadline_model, r.deadline_model))))
    for d in deadline_infos(r):
        days = days_left(d.at, now, t.tz)
        rel = (t.n("{count} day left", "{count} days left", days) if days > 0
               else t("today") if days == 0 else t("passed"))
        name = t("Deadline") if d.label == "deadline" else t("Deadline ({label})", label=md_escape(stage_label(t, d.label)))
        facts.append((name, f"{t.datetime(d.at)} ({rel}){_indicative(t, d.indicative)}"))
    if r.deadline_note:
        facts.append((t("Note"), foreign_text(t, r.deadline_note)))
    if r.url:
        facts.append((t("More information"), md_link(r.url, r.url)))
    sources = public_sources(r.source)
    if sources:
        facts.append((t("Source"), " ; ".join(md_link(u, u) for u in sources)))
    facts.append((t("Last checked"), check_text(t, r)))
    if r.origin and r.origin != "bundled":
        facts.append((t("Origin"), md_escape(r.origin) + (f" · `{md_escape_code(r.external_id)}`" if r.external_id else "")))
    lines.append("\n".join(f"- **{k}:** {v}" for k, v in facts))
    lines.append(f"_{t('ID: {id}', id=md_escape(r.id))}_")
    return "\n\n".join(lines)


async def answer(ctx, query: str, filters: Filters, *, understood: list[str] | None = None,
                 lead: str | None = None) -> None:
    """Reply with the results of `query` + `filters` (shared by !funding and questions), in
    one message; `lead` (how a question was understood) is its first line."""
    t = ctx.t
    outcome = await find(ctx, query, filters)
    shown = trim_stopwords(query)
    shown_query = md_escape(shown[:120] + ("…" if len(shown) > 120 else ""))
    if not outcome.rows:
        lines = []
        if query.strip():
            lines.append(t("No funding instruments found for {query}.", query=f"“{shown_query}”"))
        else:
            lines.append(t("No funding instruments match these filters."))
        if outcome.emptied_by:
            lines.append(t("The filter {filter} removed the last {count} results.",
                           filter=outcome.emptied_by, count=outcome.before_emptied))
        elif outcome.applied and query.strip() and outcome.text_hits == 0:
            lines.append(t("No instrument matches these words, even without filters."))
        # Close terms also when filters emptied the list: a typo may have found only a stray match.
        close = suggestions_for(query, list((await ctx.db.scalars(select(FundingInstrument))).all())) \
            if query.strip() else []
        if close:
            lines.append(t("Close terms: {terms}", terms=", ".join(f"`{md_escape(c)}`" for c in close)))
        elif query.strip():
            lines.append(t("Topics you can search for: {topics}.",
                           topics=", ".join(md_escape(x.label(t.lang).lower()) for x in topics.all_topics())))
        lines.append(t("Try fewer words or filters, or `{prefix}funding` to list everything.",
                       prefix=ctx.settings.bot.command_prefix))
        await ctx.reply("\n\n".join([lead, *lines] if lead else lines))
        return
    count = len(outcome.rows)
    if outcome.closest:
        header = t("No exact match for {query}; the closest:", query=f"“{shown_query}”")
        header += closest_notes(t, outcome.missing, outcome.corrected)
    elif query.strip():
        header = t.n("{count} funding instrument for {query}:", "{count} funding instruments for {query}:",
                     count, query=f"“{shown_query}”")
    else:
        header = t.n("{count} funding instrument:", "{count} funding instruments:", count)
    applied = understood if understood is not None else outcome.applied
    if applied:
        header += "\n\n" + t("Filters: {filters}.", filters=", ".join(applied))
    now, stale_after = ctx.now, _stale_after(ctx)
    items = LazyItems(outcome.rows, lambda n, r: list_item(t, r, n, now, stale_after))
    footer = t("Details: `{prefix}funding <id>`.", prefix=ctx.settings.bot.command_prefix)
    await ctx.reply_pages(f"{lead}\n\n{header}" if lead else header, items, footer)


def closest_notes(t, missing: list[str], corrected: dict[str, str]) -> str:
    """What a "closest" answer did with the words: typos read as words in the data, and the
    words found in no record."""
    notes = []
    if corrected:
        notes.append(t("I read {words}.", words=", ".join(
            t("{typed} as {word}", typed=f"“{md_escape(a[:40])}”", word=f"“{md_escape(b)}”")
            for a, b in corrected.items())))
    if missing:
        notes.append(t("Not found in any record: {words}.",
                       words=", ".join(f"“{md_escape(w[:40])}”" for w in missing[:8])))
    return ("\n\n" + " ".join(notes)) if notes else ""


# --------------------------------------------------------------------------- commands
LEVEL_CHOICE = Choice(list(LEVELS), synonyms={**LEVEL_SYNONYMS, "gemeente": "local", "gemeenten": "local"},
                      dutch={"eu": "eu", "national": "nationaal", "provincial": "provinciaal",
                             "regional": "regionaal", "local": "lokaal"})
APPLICANT_CHOICE = Choice(list(APPLICANTS), synonyms={**APPLICANT_SYNONYMS, "water_board": "water_board"},
                          dutch={"municipality": "gemeente", "province": "provincie", "water_board": "waterschap",
                                 "central_government": "rijksoverheid", "company": "bedrijf", "sme": "mkb",
                                 "knowledge_institution": "kennisinstelling", "ngo": "ngo",
                                 "citizen_initiative": "bewonersinitiatief"})


@cog.command("funding", aliases=("fund", "grants"), dutch=("subsidie", "subsidies", "financiering"))
@argument("query", Text(max_length=10_000), required=False, rest=True,
          help=N_("search words, or the id of one instrument"))
@option("level", LEVEL_CHOICE, aliases=("niveau",), help=N_("eu, national, provincial, regional or local"))
@option("theme", TopicArg(), aliases=("thema", "topic"), help=N_("one of the twelve topics, e.g. climate adaptation"))
@option("applicant", APPLICANT_CHOICE, aliases=("aanvrager",),
        help=N_("who applies, e.g. municipality, province, sme"))
@option("open", aliases=("nu-open",), help=N_("only instruments open now"))
@option("closing-within", Duration(minimum=timedelta(days=1), maximum=timedelta(days=1100)),
        aliases=("sluit-binnen", "binnen"), help=N_("next deadline within, e.g. 30d"))
@option("min-budget", Money(), aliases=("min-bedrag", "minimaal"), help=N_("minimum grant or budget, e.g. 100k"))
async def funding(ctx, **args):
    """Find funding instruments (EU, national, regional, local) by words and filters.

    Shows level, status, the next deadline with days left, grant range and co-financing.
    Give an instrument id to see the whole record."""
    query = (args.get("query") or "").strip()
    if query and re.fullmatch(r"[a-z0-9][a-z0-9-]{1,118}", query.lower()):
        row = await ctx.db.get(FundingInstrument, query.lower())
        if row is not None:
            await ctx.reply(full_record(ctx.t, row, ctx.now, ctx.settings.bot.command_prefix, _stale_after(ctx)))
            return
    filters = Filters(level=args.get("level"), theme=args.get("theme"), applicant=args.get("applicant"),
                      open=bool(args.get("open")), closing_within=args.get("closing-within"),
                      min_budget=args.get("min-budget"))
    query = _owner_to_applicant(_amounts_and_years(query, filters), filters)
    if filters.closing_within is None and not filters.closes_in:
        # "!funding klimaat voor de zomer", "!funding closing before March": a time window, not words.
        words = query.lower().split()
        win = deadline_words.window(query, ctx.now)
        if win is not None or deadline_words.is_deadline_question(words):
            filters.closing_within = win.span if win else timedelta(days=deadline_words.SOON_DAYS)
            drop = (win.words if win else set()) | deadline_words.DEADLINE_WORDS | deadline_words.SOON_WORDS
            query = " ".join(w for w in re.findall(r"[\w-]+", query) if w.lower() not in drop)
    await answer(ctx, query, filters)


def _amounts_and_years(query: str, filters: Filters) -> str:
    """Amount bounds and a year window read from the words (commands/funding/amounts.py)."""
    bounds, query = amounts_in(query)
    filters.min_budget = filters.min_budget or bounds.at_least
    filters.max_amount = filters.max_amount or bounds.at_most
    kind, year, rest = year_window(query)
    if kind == "opens":
        filters.opens_in, query = year, rest
    elif kind == "closes":
        filters.closes_in, query = year, rest
    return query


# "gemeentelijk vastgoed", "municipal buildings", "provinciale wegen": the adjective says whose
# the thing is, so who applies, not who funds ("gemeentelijke subsidie" is the funder's level).
OWNER_ADJECTIVES = {"gemeentelijk": "municipality", "gemeentelijke": "municipality", "municipal": "municipality",
                    "provinciaal": "province", "provinciale": "province", "provincial": "province"}


def _funding_word(word: str) -> bool:
    return word in INTENT_WORDS or word.startswith(("subsidie", "financier")) or _intent_typo(word)


def owner_adjective(words: list[str]) -> tuple[str | None, int | None]:
    """(applicant, index of the adjective) where a level adjective qualifies a thing, not a
    funding word: `gemeentelijk vastgoed` -> ("municipality", i); `gemeentelijke subsidie` -> (None, None)."""
    for i, w in enumerate(words[:-1]):
        owner = OWNER_ADJECTIVES.get(w.lower())
        after = words[i + 1].lower()
        if owner and after not in STOPWORDS and not _funding_word(after) and after not in LEVEL_SYNONYMS:
            return owner, i
    return None, None


def _owner_to_applicant(query: str, filters: Filters) -> str:
    """`voor gemeentelijk vastgoed`: applicant municipality, the search words `voor vastgoed`."""
    words = query.split()
    owner, i = owner_adjective([w.strip(",.;:!?") for w in words])
    if owner is None:
        return query
    filters.applicant = filters.applicant or owner
    return " ".join(words[:i] + words[i + 1:])


# Where a record comes from and what its source last said are kept by import and refresh, not by hand.
# When and by whom a record was checked is set only by a refresh that saw it in its source or
# by `!funding verify` (commands/funding/curation.py), never typed in.
EDITABLE = tuple(f for f in FIELDS if f not in ("id", "origin", "external_id", "external_status", "last_seen_at",
                                                 "stale", "last_checked", "checked_by"))

# pydantic error types -> what the value must be, in words we translate (never the raw
# English pydantic message inside a Dutch reply).
VALIDATION_MESSAGES = {
    "string_too_long": N_("at most {max_length} characters"),
    "string_too_short": N_("at least {min_length} characters"),
    "too_long": N_("at most {max_length} items"),
    "greater_than_equal": N_("a number of at least {ge}"),
    "less_than_equal": N_("a number of at most {le}"),
    "int_parsing": N_("a whole number, e.g. 250000"),
    "int_from_float": N_("a whole number, e.g. 250000"),
    "float_parsing": N_("a number, e.g. 0.7"),
    "date_parsing": N_("a date such as 2027-03-31"),
    "date_from_datetime_parsing": N_("a date such as 2027-03-31"),
    "date_from_datetime_inexact": N_("a date such as 2027-03-31"),
    "datetime_parsing": N_("a date and time such as 2027-03-31T17:00"),
    "datetime_from_date_parsing": N_("a date and time such as 2027-03-31T17:00"),
    "literal_error": N_("one of {expected}"),
    "string_pattern_mismatch": N_("not in the expected form"),
}


def validation_message(err: dict, field_name: str) -> tuple[str, dict]:
    kind, ctx_ = err.get("type", ""), err.get("ctx") or {}
    if field_name.startswith("themes"):
        return N_("one of the twelve topics: {topics}"), {"topics": ", ".join(topics.ids())}
    if field_name == "url" and kind == "string_pattern_mismatch":
        return N_("a web address starting with https://"), {}
    if "time zone" in str(err.get("msg", "")):
        return N_("a time zone such as Europe/Brussels"), {}
    if kind in VALIDATION_MESSAGES:
        params = {k: str(v) for k, v in ctx_.items() if k in ("max_length", "min_length", "ge", "le", "expected")}
        try:
            VALIDATION_MESSAGES[kind].format(**params)
        except (KeyError, IndexError):
            return N_("not a valid value"), {}
        return VALIDATION_MESSAGES[kind], params
    return N_("not a valid value"), {}


def parse_field_value(name: str, raw: str) -> Any:
    raw = raw.strip()
    if raw.lower() in ("", "-", "none", "null", "leeg", "geen"):
        return [] if name in ("themes", "eligible_applicants", "deadlines") else None
    if name in ("themes", "eligible_applicants"):
        return [v.strip() for v in re.split(r"[|,]", raw) if v.strip()]
    if name == "deadlines":
        if raw.startswith("["):
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                raise BadArgument("Deadlines must be a JSON list or `2027-03-31 17:00 Europe/Brussels label; …`.")
        out = []
        for part in raw.split(";"):
            m = re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}))?\s*([A-Za-z]+/[A-Za-z_]+)?\s*(.*?)\s*", part)
            if not m:
                raise BadArgument("Deadlines must be a JSON list or `2027-03-31 17:00 Europe/Brussels label; …`.")
            out.append({"at": f"{m.group(1)}T{m.group(2) or '23:59'}", "tz": m.group(3) or "Europe/Amsterdam",
                        "label": m.group(4) or "deadline"})
        return out
    return raw


@funding.subcommand("set", dutch=("wijzig", "zet"), role=Role.FACILITATOR)
@argument("id", Word(max_length=120), required=False, help=N_("the instrument id"))
@argument("field", Word(max_length=40), required=False, help=N_("the field to change"))
@argument("value", Text(max_length=5000), rest=True, required=False, help=N_("the new value (none to clear)"))
async def funding_set(ctx, **args):
    """Correct one field of a funding instrument (facilitators and admins; logged)."""
    if not (args.get("id") and args.get("field") and args.get("value")):
        # Without all three, say what can be changed rather than "missing argument".
        raise BadArgument("Give the instrument id, the field and the new value. Fields I can change: {fields}.",
                          fields=", ".join(EDITABLE))
    doc_id, name, raw = args["id"].lower(), args["field"].lower().replace("-", "_"), args["value"]
    row = await ctx.db.get(FundingInstrument, doc_id)
    if row is None:
        ids = list((await ctx.db.scalars(select(FundingInstrument.id))).all())
        close = [m[0] for m in process.extract(doc_id, ids, limit=3, score_cutoff=60)]
        raise BadArgument("There is no funding instrument with id {value}.", value=doc_id, suggestions=close)
    if name not in EDITABLE:
        close = [m[0] for m in process.extract(name, EDITABLE, limit=3, score_cutoff=60)]
        raise BadArgument("{value} is not a field I can change. Fields: {fields}.", value=name,
                          fields=", ".join(EDITABLE), suggestions=close)
    record = {k: v for k, v in record_of(row).items()}
    old = record[name]
    record[name] = parse_field_value(name, raw)
    try:
        rec = InstrumentRecord.model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or name
        msgid, params = validation_message(err, where)
        raise BadArgument("That value is not valid for {field}: {error}", field=where,
                          error=ctx.t(msgid, **params))
    new_row = rec.to_row()
    before = changes.snapshot(row, ctx.now)
    setattr(row, name, new_row[name])
    row.updated_at, row.updated_by = ctx.now, ctx.sender
    changes.record(ctx.db, row, before, ctx.now, source="chat", by=ctx.sender)   # followers hear of it
    await ctx.db.flush()
    await FUNDING_INDEX.upsert(ctx.db, row.id, search_fields(row))

    def plain(v):
        return v.isoformat() if hasattr(v, "isoformat") else v

    ctx.db.add(AuditLog(actor=ctx.sender, action="funding.set", target=row.id,
                        detail={"field": name, "old": plain(old), "new": plain(new_row[name])}, at=ctx.now))
    await ctx.reply(ctx.t("Updated {field} of {id}. The change is logged under your name.",
                          field=f"`{name}`", id=f"`{row.id}`"))


class DeadlineWindow(Converter):
    """A duration (30d, 2mnd) or a time phrase ("deze maand", "this year", "voor de zomer")."""
    metavar = N_("period")

    def __init__(self):
        self.duration = Duration(minimum=timedelta(days=1), maximum=timedelta(days=1100))

    async def convert(self, raw, ctx):
        try:
            return await self.duration.convert(raw, ctx)
        except BadArgument:
            win = deadline_words.window(raw, ctx.now)
            if win is None:
                raise
            return win.span


@cog.command("deadlines", dutch=("sluitingsdata", "deadlijnen"))
@argument("window", DeadlineWindow(), required=False, rest=True,
          help=N_("how far ahead, e.g. 30d, this month, voor de zomer (default 30 days)"))
@option("theme", TopicArg(), aliases=("thema", "topic"), help=N_("one of the twelve topics, e.g. climate adaptation"))
@option("level", LEVEL_CHOICE, aliases=("niveau",), help=N_("eu, national, provincial, regional or local"))
async def deadlines(ctx, **args):
    """List upcoming funding deadlines in date order."""
    await deadline_list(ctx, args.get("window") or timedelta(days=30), theme=args.get("theme"),
                        level=args.get("level"))


LIST_CAP = 50   # deadlines listed at most (10 pages of `!more`); the header gives the whole count


async def deadline_list(ctx, window: timedelta, *, theme: str | None = None, level: str | None = None,
                        lead: str | None = None) -> None:
    t, now = ctx.t, ctx.now
    end = now + window
    days = max(1, round(window.total_seconds() / 86400))
    # The deadlines in [now, end] in time order: an index range over funding_deadlines, with
    # only the columns the filters need; whole records are loaded for the listed ones only.
    query = select(FundingDeadline.at, FundingInstrument.id, FundingInstrument.themes).join(
        FundingInstrument, FundingInstrument.id == FundingDeadline.instrument_id).where(
        FundingDeadline.at >= now, FundingDeadline.at <= end).order_by(FundingDeadline.at, FundingDeadline.instrument_id)
    if level:
        query = query.where(FundingInstrument.level == level)
    found = [(at, fid) for at, fid, themes in (await ctx.db.execute(query)).all()
             if not theme or theme in (themes or [])]
    listed = found[:LIST_CAP]
    by_id = {r.id: r for r in (await ctx.db.scalars(select(FundingInstrument).where(
        FundingInstrument.id.in_({fid for _, fid in listed})))).all()} if listed else {}
    upcoming = []
    for at, fid in listed:
        r = by_id[fid]
        upcoming += [(d, r) for d in deadline_infos(r) if d.at == at][:1]
    if not upcoming:
        # The next one after the window: deadlines in time order (themes are JSON: filtered here).
        later = []
        after = select(FundingDeadline.at, FundingInstrument).join(
            FundingInstrument, FundingInstrument.id == FundingDeadline.instrument_id).where(
            FundingDeadline.at > end).order_by(FundingDeadline.at, FundingDeadline.instrument_id)
        if level:
            after = after.where(FundingInstrument.level == level)
        result = await ctx.db.stream(after.limit(1) if not theme else after.execution_options(yield_per=100))
        async for at, r in result:
            if not theme or theme in (r.themes or []):
                later = [(at, r)]
                break
        await result.close()
        msg = t("No funding deadlines in {period}.", period=_period(t, days))
        if later:
            msg += " " + t("The next one is {title} on {date}.", title=md_link(title_of(later[0][1], t.lang),
                                                                               later[0][1].url),
                           date=t.short_date(later[0][0]))
        await ctx.reply(f"{lead}\n\n{msg}" if lead else msg)
        return
    items = []
    stale_after = _stale_after(ctx)
    for d, r in upcoming:
        left = days_left(d.at, now, t.tz)
        rel = t.n("{count} day left", "{count} days left", left) if left > 0 else t("today")
        stage = f" ({md_escape(stage_label(t, d.label))})" if d.label != "deadline" else ""
        extra = [t(LEVEL_LABELS.get(r.level, r.level))]
        if (r.kind or "grant") != "grant":
            extra.append(t(KIND_LABELS.get(r.kind, r.kind)))
        if (status := status_of(r, now)) == "invitation_only":
            extra.append(t(STATUS_LABELS[status]))
        if note := freshness_note(t, r, now, stale_after):
            extra.append(note)
        items.append(f"**{t.datetime(d.at)}** ({rel}){_indicative(t, d.indicative)} — "
                     f"{md_link(title_of(r, t.lang), r.url)}{stage} · {' · '.join(extra)} · `{r.id}`")
    header = t.n("{count} funding deadline in {period}:", "{count} funding deadlines in {period}:", len(found),
                 period=_period(t, days))
    footer = t("Details: `{prefix}funding <id>`.", prefix=ctx.settings.bot.command_prefix)
    if len(found) > len(listed):
        # Hundreds of deadlines are no list to read: the first LIST_CAP, and how to narrow it.
        footer = t("These are the first {shown}; narrow the list with `--theme`, `--level` or a shorter period.",
                   shown=len(listed)) + " " + footer
    await ctx.reply_pages(f"{lead}\n\n{header}" if lead else header, items, footer)


def _period(t, days: int) -> str:
    return t.n("the next day", "the next {count} days", days)


# --------------------------------------------------------------------------- plain questions
INTENT_WORDS = frozenset("""
subsidie subsidies subsidieregeling subsidieregelingen financiering financieringen fonds fondsen funding fund
funds funded grant grants financing regeling regelingen call calls oproep oproepen geld money bijdrage
cofinanciering cofinancing cofunding deadline deadlines aanvragen apply sluitingsdatum budget budgetten
subsidy
""".split())


def _intent_typo(word: str) -> bool:
    """A misspelt funding word ("subsidei", "finacing"): long enough and close to one."""
    return len(word) >= 6 and process.extractOne(word, INTENT_WORDS, scorer=fuzz.ratio, score_cutoff=85) is not None
OPEN_WORDS = ("nu open", "currently open", "open now", "still open", "nog open", "openstaand", "openstaande",
              "lopende", "open")
FILLER = frozenset("""
there er welke which wat what is are zijn any some voor for in the de het een a an van of bij with met
waar where kan can i ik we wij mijn my our onze hoe how do does voor about over iets something
are hub dsih bot please graag help hulp zoek search find looking op on to naar available beschikbaar
mogelijk possible welk kun could would zou across
""".split()) | STOPWORDS


@dataclass
class Understood:
    query: str
    filters: Filters
    notes: list[str]


def understand(text: str, now: datetime, *, asked: bool = True) -> Understood | None:
    """Read level, theme, applicant, openness and time window (nl/en) from a question; None
    when it is not about funding (`asked=False`: read it even without a funding word, for
    the search fallback). "welke subsidies sluiten binnenkort?" and "what grants close
    in the next two months?" become a deadline window, not search words."""
    f = Filters()
    text = _amounts_and_years(text[:2000], f)
    low = " " + " ".join(re.findall(r"[a-zà-ÿ0-9]+", text[:2000].lower())) + " "
    words = low.split()
    deadline_q = deadline_words.is_deadline_question(words)
    intent = (any(w in INTENT_WORDS for w in words) or any(w.startswith(("subsidie", "financier")) for w in words)
              or any(_intent_typo(w) for w in words)
              or (deadline_q and not any(w in ("lab", "labs", "proeftuin", "proeftuinen") for w in words)))
    if not intent and asked:
        return None
    used: set[str] = set(w for w in words if w in INTENT_WORDS or w.startswith("subsidie") or _intent_typo(w))
    used |= {w for w in words if w in deadline_words.DEADLINE_WORDS or w in deadline_words.SOON_WORDS}
    owner, at = owner_adjective(words)
    if owner is not None:   # "subsidie voor gemeentelijk vastgoed": who applies, not the funder's level
        f.applicant = owner
        used.add(words[at])
    for n, w in enumerate(words):
        if n == at:
            continue
        if w in ("eu", "eu-", "europe", "europa", "european", "europees", "europese"):
            f.level = f.level or "eu"; used.add(w)
        elif w in LEVEL_SYNONYMS and w not in ("province", "provincie", "rijk"):
            f.level = f.level or LEVEL_SYNONYMS[w]; used.add(w)
        elif w in ("national", "regional", "local", "provincial"):
            f.level = f.level or w; used.add(w)
    for w in words:
        a = APPLICANT_SYNONYMS.get(w) or (w if w in APPLICANTS else None)
        if w in ("municipality",):
            a = "municipality"
        if a:
            f.applicant = f.applicant or a; used.add(w)
    win = deadline_words.window(text, now)
    if win is not None:
        f.closing_within = win.span
        used |= win.words
    elif deadline_q and not f.closes_in and not any(w in ("open", "openstaand", "openstaande") for w in words):
        f.closing_within = timedelta(days=deadline_words.SOON_DAYS)
    for phrase in OPEN_WORDS:
        if f" {phrase} " in low:
            f.open = True
            used.update(phrase.split())
            break
    found = topics.find_in_text(text[:2000])
    if len(found) == 1:
        # One topic named: its records. Several ("community centres ... energy efficient"
        # names social equality and energy): no filter, the words rank them.
        f.theme = found[0].id
    rest = [w for w in words if w not in used and w not in FILLER and w not in QUESTION_FILLER]
    return Understood(" ".join(rest), f, [])


# Words of a question about deadlines or openness that are not search words.
QUESTION_FILLER = frozenset("""
er eraan komen komt coming up next upcoming nu now currently still nog zijn are is weer again
instrumenten instruments regelingen schemes programma programmes opportunities kansen
""".split())
async def named_instrument(ctx, name: str) -> FundingInstrument | None:
    """The one instrument a name refers to (id, acronym or title word such as DUMAVA, SBIR),
    or None when it is not clearly one."""
    key = name.strip().lower().strip("\"'“”‘’`")
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{1,118}", key):
        row = await ctx.db.get(FundingInstrument, key)
        if row is not None:
            return row
    wanted = [w for w in tokens(key) if w not in STOPWORDS and w not in FILLER]
    if not wanted:
        return None
    rows = list((await ctx.db.scalars(select(FundingInstrument))).all())
    # Every word of the name in the instrument's id, titles, identifier or programme, and
    # only one instrument like that; a search would guess (a lab may have the name).
    named = [r for r in rows if set(wanted) <= set(tokens(" ".join(filter(None, [
        r.id.replace("-", " "), r.title, r.title_nl, r.identifier, r.programme]))))]
    if len(named) > 1 and len({_scheme(r) for r in named}) == 1:
        # Rounds of one scheme ("DUMAVA 2025", "DUMAVA 2026"): the one to apply to, else the latest.
        now = ctx.now
        named.sort(key=lambda r: (_STATUS_ORDER[status_of(r, now)] > 2, -_latest(r), -_round_year(r)))
        return named[0]
    return named[0] if len(named) == 1 else None


def _scheme(r: FundingInstrument) -> str:
    """An instrument's id without its year or round ("dumava-2025" -> "dumava")."""
    return re.sub(r"(-(19|20)\d\d)+$", "", r.id)


def _latest(r: FundingInstrument) -> float:
    """The timestamp of a record's last deadline (or opening), for "the latest round"; a round
    without known dates ("DUMAVA 2026": no source yet) counts from the start of its year."""
    infos = deadline_infos(r)
    at = infos[-1].at if infos else opens_at(r)
    if at is not None:
        return at.timestamp()
    year = _round_year(r)
    return datetime(year, 1, 1).timestamp() if year else 0.0


def _round_year(r: FundingInstrument) -> int:
    m = re.search(r"-((?:19|20)\d\d)$", r.id)
    return int(m.group(1)) if m else 0


@cog.question
async def instrument_question(ctx, text: str) -> bool:
    """"vertel me meer over DUMAVA", "tell me more about SBIR": the record."""
    name = asking.named_in(text)
    if not name:
        return False
    row = await named_instrument(ctx, name)
    if row is None:
        return False
    await ctx.reply(full_record(ctx.t, row, ctx.now, ctx.settings.bot.command_prefix))
    return True


@cog.question
async def funding_question(ctx, text: str) -> bool:
    u = understand(text, ctx.now)
    if u is None:
        return False
    await answer_understood(ctx, u)
    return True


async def fallback_probe(ctx, text: str) -> float:
    """How clearly a question without a funding word matches funding records (the kernel's
    search fallback, bot.framework.capability.Fallback): "kunnen we met Duitse gemeenten over
    de grens samenwerken aan energie?" is a funding question in all but the word."""
    u = understand(text, ctx.now, asked=False)
    if u is None or not u.query:
        return 0.0
    return await FUNDING_INDEX.clear_match(ctx.db, u.query, said=text)


async def fallback_answer(ctx, text: str) -> None:
    await answer_understood(ctx, understand(text, ctx.now, asked=False))


async def answer_understood(ctx, u: Understood) -> None:
    t, f = ctx.t, u.filters
    only_time = not (u.query or f.level or f.theme or f.applicant or f.open or f.min_budget or f.max_amount
                     or f.opens_in or f.closes_in)
    if only_time and f.closing_within:
        # "welke subsidies sluiten binnenkort?": the deadlines in that window, in date order.
        days = max(1, round(f.closing_within.total_seconds() / 86400))
        lead = t("I understood your question like this: {notes}.",
                 notes=t("funding deadlines in {period}", period=_period(t, days))) + " " + \
            t("(Same as `{command}`.)", command=ctx.command_name(f"deadlines {days}d"))
        await deadline_list(ctx, f.closing_within, lead=lead)
        return
    steps = [label for label, _ in f.steps(t, ctx.now)]
    # A theme recognised from the words is used as filter; the words stay in the search.
    notes = [t("I searched for {query}", query=f"“{md_escape(u.query[:120])}”")] if u.query else []
    notes += [t("applied the filters {filters}", filters=", ".join(steps))] if steps else []
    if not notes:
        notes = [t("I listed all funding instruments")]
    lead = (t("I understood your question like this: {notes}.", notes="; ".join(notes)) +
            " " + t("(Same as `{command}`.)", command=md_escape_code(command_for(ctx, u))))
    await answer(ctx, u.query, f, understood=[], lead=lead)


def md_escape_code(s: str) -> str:
    return s.replace("`", "'")


def command_for(ctx, u: Understood) -> str:
    parts = ["funding"]
    if u.query:
        parts.append(u.query[:120])
    f = u.filters
    nl = ctx.lang == "nl"
    # Values as the reader types them: `--thema klimaatadaptatie --aanvrager gemeente` in Dutch.
    if f.level:
        parts.append(f"--level {LEVEL_CHOICE.dutch.get(f.level, f.level) if nl else f.level}")
    if f.theme:
        topic = topics.get(f.theme)
        parts.append(f"--theme {command_word(topic, ctx.lang) if topic and nl else f.theme}")
    if f.applicant:
        parts.append(f"--applicant {APPLICANT_CHOICE.dutch.get(f.applicant, f.applicant) if nl else f.applicant}")
    if f.open:
        parts.append("--open")
    if f.closing_within:
        parts.append(f"--closing-within {f.closing_within.days}d")
    # Amounts and years are read from the words by the command too (commands/funding/amounts.py).
    if f.min_budget:
        parts.append(f"--min-budget {f.min_budget}")
    if f.max_amount:
        parts.append(f"{'tot' if nl else 'up to'} {f.max_amount}")
    if f.opens_in:
        parts.append(f"{'opent in' if nl else 'opens in'} {f.opens_in}")
    if f.closes_in:
        parts.append(f"{'sluit in' if nl else 'closes in'} {f.closes_in}")
    return ctx.command_name(" ".join(parts))

