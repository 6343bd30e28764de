"""Knowledge items: URL normalisation (one item per resource), topic inference, the record
schema for data files, the search index and loading the bundled sample items. Used by
commands/knowledge/commands.py, commands/knowledge/feeds.py and storage/knowledge/dataset.py."""
from __future__ import annotations

import hashlib
import html
import re
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import nh3
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.i18n import N_, detect_language
from storage import topics
from storage.knowledge.models import KINDS, STATUSES, KnowledgeItem
from storage.datasets.dataset import fill_empty_table
from storage.search import SearchIndex

DATA_FILE = Path(__file__).parent / "data" / "knowledge.yaml"
DATED_KINDS = ("event", "training")
# The one name of each kind, wherever an item is shown (search, details, digests).
KIND_LABELS = {"lesson": N_("lesson learned"), "case": N_("case"), "tool": N_("tool"),
               "publication": N_("publication"), "event": N_("event"), "training": N_("training course"),
               "dataset": N_("dataset")}
MAX_URL = 2000
MAX_KEY = 500
MAX_INFERRED_TOPICS = 3

KNOWLEDGE_INDEX = SearchIndex("knowledge_search", {"title": 6.0, "topics": 3.0, "body": 1.0},
                              expand=topics.expand_query)

# Words people use for a kind, both languages (also put in the index so "evenement" finds events).
KIND_SYNONYMS = {
    "les": "lesson", "lessen": "lesson", "ervaring": "lesson", "ervaringen": "lesson", "lessons": "lesson",
    "geleerde-les": "lesson", "learning": "lesson",
    "casus": "case", "case-study": "case", "praktijkvoorbeeld": "case", "voorbeeld": "case", "cases": "case",
    "instrument": "tool", "tools": "tool", "hulpmiddel": "tool", "toolkit": "tool", "handreiking": "tool",
    "publicatie": "publication", "rapport": "publication", "report": "publication", "artikel": "publication",
    "article": "publication", "publications": "publication",
    "evenement": "event", "bijeenkomst": "event", "events": "event", "webinar": "event", "congres": "event",
    "conference": "event", "meetup": "event",
    "cursus": "training", "opleiding": "training", "course": "training", "leergang": "training",
    "trainingen": "training", "workshop": "training",
    "data": "dataset", "datasets": "dataset", "dataset": "dataset", "databron": "dataset", "open-data": "dataset",
}
KIND_WORDS = {"lesson": "lesson les ervaring geleerde lessen", "case": "case casus praktijkvoorbeeld",
              "tool": "tool instrument hulpmiddel toolkit", "publication": "publication publicatie rapport",
              "event": "event evenement bijeenkomst", "training": "training cursus opleiding",
              "dataset": "dataset data databron"}

# Query parameters that only say where a click came from; they never change the resource.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "ref_src", "ref_url",
    "s_cid", "si", "spm", "trk", "wt_mc", "wt.mc_id",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$|^\d{1,3}(?:\.\d{1,3}){3}$|"
                   r"^localhost$|^\[[0-9a-f:.]+\]$")
_SAFE_PATH = "/:@!$&'()*+,;=-._~"


class BadURL(ValueError):
    """`str(exc)` is an English msgid (no placeholders) saying what is wrong."""


def clean_url(raw: str) -> str:
    """The URL as it will be shown and linked: http(s) only, a real host, no spaces. A bare
    `www.example.nl/x` gets https://. Raises BadURL."""
    url = (raw or "").strip().strip("<>")
    if not url:
        raise BadURL(N_("The link is empty."))
    if len(url) > MAX_URL:
        raise BadURL(N_("The link is too long."))
    if any(c.isspace() or ord(c) < 32 or c in '"<>\\^`{|}' for c in url):
        raise BadURL(N_("The link contains spaces or characters a web address cannot have."))
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        url = "https://" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadURL(N_("That is not a web address I can read.")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL(N_("Only web links (http or https) can be shared."))
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        raise BadURL(N_("That is not a web address I can read.")) from None
    if not host or not _HOST.match(host) or "." not in host and host != "localhost" and not host.startswith("["):
        raise BadURL(N_("That is not a web address I can read."))
    del port
    return parts.scheme.lower() + url[len(parts.scheme):]


def url_key(url: str) -> str:
    """The normalised form two links to the same resource share: http and https, `www.`,
    a trailing slash, default ports, the fragment and tracking parameters (utm_*, fbclid,
    …) make no difference; the remaining query parameters are sorted."""
    parts = urlsplit(clean_url(url))
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.encode("idna").decode("ascii") if not host.isascii() else host
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_SAFE_PATH)
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)]
    key = netloc + path + ("?" + urlencode(sorted(query)) if query else "")
    if len(key) > MAX_KEY:  # one resource, one key: a long key keeps its head and a digest of the rest
        key = key[:MAX_KEY - 17] + "#" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return key


def infer_topics(*texts: str | None) -> list[str]:
    """Topic ids whose label or alias occurs in the text (first mentioned first)."""
    found = topics.find_in_text(" ".join(t for t in texts if t))
    return [t.id for t in found[:MAX_INFERRED_TOPICS]]


# Words in a title that say what kind of item it is (used when the sharer gives no --kind).
KIND_HINTS = {
    "training": ("leergang", "cursus", "training", "opleiding", "masterclass", "course", "e-learning", "workshop"),
    "event": ("webinar", "congres", "conference", "bijeenkomst", "event", "evenement", "symposium", "meetup",
              "kennissessie", "netwerkbijeenkomst"),
    "tool": ("toolkit", "handreiking", "tool", "checklist", "leidraad", "stappenplan", "guideline", "guidelines"),
    "publication": ("rapport", "report", "publicatie", "onderzoek", "study", "whitepaper", "position"),
    "dataset": ("dataset", "datasets", "databron", "open data", "kaart", "atlas", "dashboard"),
    "case": ("casus", "case", "praktijkvoorbeeld", "pilot", "proeftuin"),
}


def infer_kind(title: str, default: str = "lesson") -> str:
    words = " " + " ".join(re.findall(r"[a-z0-9-]+", (title or "").lower())) + " "
    for kind, hints in KIND_HINTS.items():
        if any(f" {h} " in words for h in hints):
            return kind
    return default


def guess_language(*texts: str | None, default: str | None = None) -> str | None:
    return detect_language(" ".join(t for t in texts if t)) or default


def html_to_text(value: str | None, limit: int = 1000) -> str:
    """Plain text of an HTML fragment (feed summaries): tags and script/style content go,
    entities are decoded, whitespace collapses. The result is still escaped where shown."""
    if not value:
        return ""
    stripped = nh3.clean(value[:50_000], tags=set(), attributes={}, strip_comments=True)
    text = html.unescape(stripped)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def is_passed(item: KnowledgeItem, now: datetime) -> bool:
    return item.kind in DATED_KINDS and item.event_date is not None and _aware(item.event_date) < now


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# ----------------------------------------------------------------------------- schema
FIELDS = ("url", "title", "summary", "kind", "topics", "organisation", "language", "event_date", "source",
          "status", "shared_by", "feed", "entry_id", "shared_at")


class KnowledgeRecord(BaseModel):
    """One knowledge item as found in data files (`dsih-bot import knowledge`). Items are
    keyed by their normalised URL, so the same file imported twice updates, not doubles."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str = Field(max_length=MAX_URL)
    title: str = Field(min_length=3, max_length=500)
    summary: str | None = Field(default=None, max_length=5000)
    kind: Literal["lesson", "case", "tool", "publication", "event", "training", "dataset"] = "publication"
    topics: list[str] = Field(default_factory=list)
    organisation: str | None = Field(default=None, max_length=300)
    language: Literal["nl", "en"] | None = None
    event_date: datetime | None = None
    source: str | None = Field(default=None, max_length=2000)
    status: Literal["published", "pending", "hidden"] = "published"
    shared_by: str | None = Field(default=None, max_length=255)
    feed: str | None = Field(default=None, max_length=MAX_URL)
    entry_id: str | None = Field(default=None, max_length=1000)
    shared_at: datetime | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        try:
            return clean_url(v)
        except BadURL as exc:
            raise ValueError(f"{exc} ({v[:80]!r})") from None

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        out = []
        for raw in v:
            t = topics.lookup(raw)
            if t is None:
                raise ValueError(f"unknown topic {raw!r} (known: {', '.join(topics.ids())})")
            if t.id not in out:
                out.append(t.id)
        return out

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> Any:
        return KIND_SYNONYMS.get(v.strip().lower(), v.strip().lower()) if isinstance(v, str) else v

    @field_validator("event_date", "shared_at", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():
            return None
        # A day without a time is kept as local midnight, which is shown as a date only.
        if isinstance(v, date) and not isinstance(v, datetime):
            v = datetime.combine(v, time(0, 0))
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
            v = datetime.combine(date.fromisoformat(v.strip()), time(0, 0))
        return v

    @field_validator("event_date", "shared_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:  # wall time in the Netherlands, as people write dates
            v = v.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
        return v.astimezone(timezone.utc)

    @property
    def id(self) -> str:
        return url_key(self.url)

    def to_row(self) -> dict[str, Any]:
        row = self.model_dump()
        row["url_key"] = self.id
        if row["shared_at"] is None:
            row.pop("shared_at")
        if not row["topics"]:
            row["topics"] = infer_topics(self.title, self.summary)
        row["language"] = row["language"] or guess_language(self.title, self.summary)
        return row


def record_of(row: KnowledgeItem) -> dict[str, Any]:
    return {f: getattr(row, f) for f in FIELDS}


# ----------------------------------------------------------------------------- index
def search_fields(row: KnowledgeItem) -> dict[str, str]:
    return {
        "title": row.title or "",
        "topics": topics.index_text(row.topics or []),
        "body": " ".join(filter(None, [row.summary, row.organisation, KIND_WORDS.get(row.kind, row.kind)])),
    }


async def index_item(session: AsyncSession, row: KnowledgeItem) -> None:
    await KNOWLEDGE_INDEX.upsert(session, str(row.id), search_fields(row))


async def reindex(session: AsyncSession, rows: list[KnowledgeItem] | None = None) -> int:
    if rows is None:
        rows = list((await session.scalars(select(KnowledgeItem))).all())
    return await KNOWLEDGE_INDEX.rebuild(session, ((str(r.id), search_fields(r)) for r in rows))


def merge_into(row: KnowledgeItem, *, topic_ids: list[str] | None = None, summary: str | None = None,
               organisation: str | None = None, event_date: datetime | None = None) -> list[str]:
    """Add what a second share (or feed entry) of the same resource knows and the item
    lacks; returns the names of the fields that changed."""
    changed = []
    new_topics = [t for t in (topic_ids or []) if t not in (row.topics or [])]
    if new_topics:
        row.topics = [*(row.topics or []), *new_topics]
        changed.append("topics")
    if summary and not row.summary:
        row.summary = summary
        changed.append("summary")
    if organisation and not row.organisation:
        row.organisation = organisation
        changed.append("organisation")
    if event_date and not row.event_date:
        row.event_date = event_date
        changed.append("event_date")
    return changed


# ----------------------------------------------------------------------------- bundled data
def load_bundled(path: Path = DATA_FILE) -> list[KnowledgeRecord]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [KnowledgeRecord.model_validate(r) for r in data["items"]]


# Fill an empty table from the bundled file (a no-op when it has rows).
load_sample_data = fill_empty_table(KnowledgeItem, load_bundled, reindex)


__all__ = ["KINDS", "STATUSES", "KNOWLEDGE_INDEX", "BadURL", "clean_url", "url_key", "infer_topics",
           "html_to_text", "KnowledgeRecord", "load_sample_data", "reindex", "index_item", "search_fields"]
