"""Funding instruments: the validated record schema, status derived from dates, the
search index, and loading the bundled data. Used by commands/funding/commands.py and
storage/funding/dataset.py."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import topics
from storage.funding.models import FundingDeadline, FundingInstrument, deadline_rows
from storage.search import SearchIndex

DATA_FILE = Path(__file__).parent / "data" / "funding.yaml"

LEVELS = ("eu", "national", "provincial", "regional", "local")
APPLICANTS = ("municipality", "province", "water_board", "central_government", "company", "sme",
              "knowledge_institution", "ngo", "citizen_initiative")
DEADLINE_MODELS = ("single", "two_stage", "multiple_cutoffs", "continuous")
# What an instrument is, so nobody mistakes a procurement for a grant:
#   grant        money given for a project (subsidie, specifieke uitkering, EU grant);
#   procurement  a public body buys an innovation or a service (SBIR, Startup in Residence);
#   loan         money lent, repaid (revolving funds);
#   guarantee    a guarantee on a loan;
#   prize        a competition prize or award.
KINDS = ("grant", "procurement", "loan", "guarantee", "prize")
# Derived statuses (see status_of); "invitation_only" = closed to new applicants, stage 2 by invitation;
# "gone" = its source no longer lists it although its dates say it is not closed: check.
STATUSES = ("open", "forthcoming", "continuous", "invitation_only", "closed", "unknown", "gone")
ACCEPTING = frozenset({"open", "continuous"})   # statuses in which a newcomer can still apply
# Where a record comes from: the bundled curated file, the EU Funding & Tenders portal
# (`dsih-bot refresh funding --source eu-ft`), a file import or a chat correction.
ORIGINS = ("bundled", "eu-ft", "import", "chat")
PORTAL_STATUSES = ("forthcoming", "open", "closed")
FIELDS = ("id", "title", "title_nl", "programme", "identifier", "kind", "level", "managing_body", "themes",
          "eligible_applicants", "consortium_rule", "cofinancing_rate", "budget_total_eur", "grant_min_eur",
          "grant_max_eur", "opens_on", "deadline_model", "deadlines", "dates_indicative", "deadline_note", "summary",
          "summary_nl", "url", "source", "last_checked", "checked_by", "origin", "external_id", "external_status",
          "last_seen_at", "stale")
# Aggregators and consultancies: fine as a second source, never the only one (issue 8).
SECONDARY_HOSTS = ("grantalist.com", "findmymoney.app", "euro-access.eu", "fundsforngos.org", "subsdy.com",
                   "ignite-group.com", "eu-funding-assistance.netlify.app", "inova.business", "pubt.io",
                   "hezelburcht.com", "pnoconsultants.com", "craeghs.nl", "lcgroup.nl", "dikaiousai.gr",
                   "longform.social", "subsidieradar.nl", "subsidiesvoorjou.nl")

FUNDING_INDEX = SearchIndex("funding_search", {"title": 6.0, "topics": 3.0, "body": 1.0},
                            synonyms=topics.expand_words)


# ----------------------------------------------------------------------------- schema
class Deadline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    tz: str = "Europe/Amsterdam"
    label: str = Field(default="deadline", max_length=100)
    # An estimate (e.g. from previous rounds or a draft work programme), not a published date.
    indicative: bool = False

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (expected e.g. Europe/Brussels)") from None
        return v

    @field_validator("at")
    @classmethod
    def _wall_time(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=None) if v.tzinfo is None else v

    def aware(self) -> datetime:
        return self.at.replace(tzinfo=ZoneInfo(self.tz)) if self.at.tzinfo is None else self.at

    def stored(self) -> dict[str, Any]:
        at = self.at if self.at.tzinfo is None else self.at.astimezone(ZoneInfo(self.tz)).replace(tzinfo=None)
        out: dict[str, Any] = {"at": at.isoformat(timespec="minutes" if at.second == 0 else "seconds"),
                               "tz": self.tz, "label": self.label}
        if self.indicative:
            out["indicative"] = True
        return out


def _empty_to_none(v):
    return None if isinstance(v, str) and not v.strip() else v


class InstrumentRecord(BaseModel):
    """One funding instrument as found in data files and accepted by `!funding set`."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,118}$")
    title: str = Field(min_length=3, max_length=500)
    title_nl: str | None = Field(default=None, max_length=500)
    programme: str | None = Field(default=None, max_length=300)
    identifier: str | None = Field(default=None, max_length=200)
    kind: Literal["grant", "procurement", "loan", "guarantee", "prize"] = "grant"
    level: Literal["eu", "national", "provincial", "regional", "local"]
    managing_body: str | None = Field(default=None, max_length=300)
    themes: list[str] = Field(default_factory=list)
    eligible_applicants: list[Literal["municipality", "province", "water_board", "central_government", "company",
                                      "sme", "knowledge_institution", "ngo", "citizen_initiative"]] = Field(
        default_factory=list)
    consortium_rule: str | None = Field(default=None, max_length=2000)
    cofinancing_rate: float | None = Field(default=None, ge=0, le=1)
    budget_total_eur: int | None = Field(default=None, ge=0, le=10**13)
    grant_min_eur: int | None = Field(default=None, ge=0, le=10**13)
    grant_max_eur: int | None = Field(default=None, ge=0, le=10**13)
    opens_on: date | None = None
    deadline_model: Literal["single", "two_stage", "multiple_cutoffs", "continuous"] = "single"
    deadlines: list[Deadline] = Field(default_factory=list, max_length=50)
    dates_indicative: bool = False      # every date of this record (opening and deadlines) is an estimate
    deadline_note: str | None = Field(default=None, max_length=500)
    summary: str | None = Field(default=None, max_length=5000)
    summary_nl: str | None = Field(default=None, max_length=5000)
    url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$")
    source: str | None = Field(default=None, max_length=2000)
    last_checked: date | None = None
    checked_by: str | None = Field(default=None, max_length=255)     # who checked it on last_checked
    origin: Literal["bundled", "eu-ft", "import", "chat"] = "import"
    external_id: str | None = Field(default=None, max_length=200)    # the source's own id (portal topic id)
    external_status: Literal["forthcoming", "open", "closed"] | None = None   # as the source says
    last_seen_at: datetime | None = None                             # last refresh that saw it at the source
    stale: bool = False                                              # no longer listed at its source

    _nullable = field_validator("title_nl", "programme", "identifier", "managing_body", "consortium_rule",
                                "summary", "summary_nl", "url", "source", "deadline_note", "opens_on", "last_checked",
                                "cofinancing_rate", "budget_total_eur", "grant_min_eur", "grant_max_eur",
                                "checked_by", "external_id", "external_status", "last_seen_at",
                                mode="before")(classmethod(lambda cls, v: _empty_to_none(v)))

    @field_validator("kind", "origin", "dates_indicative", "stale", mode="before")
    @classmethod
    def _defaults(cls, v, info):
        # Files written before these fields existed (or CSV cells left empty) get the default.
        if v is None or (isinstance(v, str) and not v.strip()):
            return {"kind": "grant", "origin": "import"}.get(info.field_name, False)
        return v

    @field_validator("last_seen_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("last_seen_at needs a time zone, e.g. 2026-11-25T03:00:00+00:00")
        return v

    @field_validator("url")
    @classmethod
    def _official(cls, v: str | None) -> str | None:
        if v and _is_secondary(v):
            raise ValueError("url must be the official page of the instrument, not an aggregator or consultancy")
        return v

    @field_validator("themes")
    @classmethod
    def _themes(cls, v: list[str]) -> list[str]:
        known = topics.ids()
        for t in v:
            if t not in known:
                raise ValueError(f"unknown theme {t!r} (known: {', '.join(known)})")
        return list(dict.fromkeys(v))

    @field_validator("eligible_applicants")
    @classmethod
    def _dedupe(cls, v):
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _consistent(self):
        if self.grant_min_eur is not None and self.grant_max_eur is not None and self.grant_min_eur > self.grant_max_eur:
            raise ValueError("grant_min_eur is larger than grant_max_eur")
        if self.deadline_model == "two_stage" and len(self.deadlines) > 2:
            raise ValueError("a two_stage call has at most two deadlines")
        if self.deadline_model == "single" and len(self.deadlines) > 1:
            raise ValueError("a single-deadline call has one deadline (use multiple_cutoffs)")
        if self.source and self.url is None and not _has_primary(self.source):
            raise ValueError("source: a secondary source (aggregator, consultancy) is never the only source; "
                             "add the official page as url or to source")
        self.deadlines.sort(key=lambda d: d.aware())
        return self

    def to_row(self) -> dict[str, Any]:
        data = self.model_dump()
        data["deadlines"] = [d.stored() for d in self.deadlines]
        return data


_URL = re.compile(r"https?://([^/\s;]+)[^\s;]*")


def _host(url: str) -> str:
    m = _URL.match(url.strip())
    return (m.group(1).lower().split("@")[-1].split(":")[0].removeprefix("www.").removeprefix("www2.")) if m else ""


def _is_secondary(url: str) -> bool:
    host = _host(url)
    return any(host == h or host.endswith("." + h) for h in SECONDARY_HOSTS)


def _has_primary(source: str) -> bool:
    """True when `source` names something other than secondary web pages (an official
    URL, a document, an organisation)."""
    urls = _URL.findall(source)
    rest = re.sub(r"\([^)]*\)", "", _URL.sub("", source)).strip(" ;,")
    return bool(rest) or any(not _is_secondary("https://" + u) for u in urls)


def record_of(row: FundingInstrument) -> dict[str, Any]:
    """A model row as a plain dict in the file schema (for export and re-validation)."""
    return {f: getattr(row, f) for f in FIELDS}


# ----------------------------------------------------------------------------- status
# The one place where status rules live: commands (lists, records, filters, ranking) and
# the search ranking all call status_of / next_deadline; nothing stores a status.
@dataclass(frozen=True)
class DeadlineInfo:
    at: datetime          # aware
    label: str
    indicative: bool      # an estimate, not a published date


def deadline_infos(row: FundingInstrument) -> list[DeadlineInfo]:
    """Every deadline of a record in date order; unreadable entries are skipped."""
    out = []
    for d in row.deadlines or []:
        try:
            at = datetime.fromisoformat(str(d["at"]))
            if at.tzinfo is None:
                at = at.replace(tzinfo=ZoneInfo(d.get("tz") or "Europe/Amsterdam"))
        except (KeyError, ValueError, ZoneInfoNotFoundError):
            continue
        out.append(DeadlineInfo(at, str(d.get("label") or "deadline"),
                                bool(d.get("indicative")) or bool(getattr(row, "dates_indicative", False))))
    return sorted(out, key=lambda p: p.at)


def deadlines_of(row: FundingInstrument) -> list[tuple[datetime, str]]:
    """(aware datetime, label) of every deadline, in date order."""
    return [(d.at, d.label) for d in deadline_infos(row)]


def opens_at(row: FundingInstrument) -> datetime | None:
    if row.opens_on is None:
        return None
    return datetime.combine(row.opens_on, time(0, 0), ZoneInfo("Europe/Brussels"))


def status_of(row: FundingInstrument, now: datetime) -> str:
    """One of STATUSES, from the dates as of `now` (aware):

    - before opens_on: forthcoming;
    - continuous: continuous until its end date (the last deadline), then closed; without
      an end date still continuous, shown as "until the budget runs out: check";
    - two_stage: open until stage 1; after stage 1, "invitation_only" while a later stage
      is ahead (closed to new applicants, stage 2 by invitation), closed after the last;
    - single / multiple_cutoffs: open until the last deadline, closed after it;
    - no date known at all: what the source (EU portal) says if we have it, else
      "unknown" (never "closed": we cannot tell);
    - a record its source no longer lists (`stale`, set by a refresh after
      `funding.unseen_after`) is "gone" ("no longer in the source: check") unless its dates
      say it is closed: never left "open"."""
    status = status_by_dates(row, now)
    if getattr(row, "stale", False) and status != "closed":
        return "gone"
    return status


def status_by_dates(row: FundingInstrument, now: datetime) -> str:
    dl = deadline_infos(row)
    start = opens_at(row)
    if start is not None and now < start:
        return "forthcoming"
    if row.deadline_model == "continuous":
        return "closed" if dl and dl[-1].at < now else "continuous"
    if dl:
        if dl[-1].at < now:
            return "closed"
        if row.deadline_model == "two_stage" and dl[0].at < now:
            return "invitation_only"
        return "open"
    portal = getattr(row, "external_status", None)
    if portal in ("forthcoming", "open") and start is None:
        return portal
    return "unknown"


def accepting(row: FundingInstrument, now: datetime) -> bool:
    """A newcomer can apply now (what `--open` means)."""
    return status_of(row, now) in ACCEPTING


def next_deadline(row: FundingInstrument, now: datetime) -> tuple[datetime, str] | None:
    nd = next_deadline_info(row, now)
    return (nd.at, nd.label) if nd else None


def next_deadline_info(row: FundingInstrument, now: datetime) -> DeadlineInfo | None:
    """The next deadline still ahead (for a two-stage call past stage 1: the invited stage)."""
    for d in deadline_infos(row):
        if d.at >= now:
            return d
    return None


def is_outdated(row: FundingInstrument, now: datetime, stale_after: timedelta) -> bool:
    """Last checked longer ago than `stale_after` (or never), or gone from its source."""
    if getattr(row, "stale", False):
        return True
    if row.last_checked is None:
        return True
    return now.date() - row.last_checked > stale_after


def days_left(at: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between today and the deadline day, in the user's zone."""
    return (at.astimezone(tz).date() - now.astimezone(tz).date()).days


# ----------------------------------------------------------------------------- index
def search_fields(row: FundingInstrument) -> dict[str, str]:
    return {
        "title": " ".join(filter(None, [row.title, row.title_nl, row.programme, row.identifier, row.id.replace("-", " ")])),
        "topics": topics.index_text(row.themes or []),
        "body": " ".join(filter(None, [row.summary, row.summary_nl, row.managing_body, row.consortium_rule])),
    }


_INDEXED = ("id", "title", "title_nl", "programme", "identifier", "themes", "summary", "summary_nl", "managing_body",
            "consortium_rule")


async def _indexed_docs(session: AsyncSession, batch: int = 2000):
    """(id, fields) of every record, read in id order `batch` rows at a time, only the
    columns the index needs: a big table is never in memory at once."""
    cols = [getattr(FundingInstrument, c) for c in _INDEXED]
    after = None
    while True:
        query = select(*cols).order_by(FundingInstrument.id).limit(batch)
        if after is not None:
            query = query.where(FundingInstrument.id > after)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        for r in rows:
            yield r.id, search_fields(r)
        after = rows[-1].id


async def reindex(session: AsyncSession, rows: list[FundingInstrument] | None = None) -> int:
    if rows is None:
        return await FUNDING_INDEX.rebuild(session, _indexed_docs(session))
    return await FUNDING_INDEX.rebuild(session, ((r.id, search_fields(r)) for r in rows))


async def resync_deadlines(session: AsyncSession) -> int:
    """Rebuild funding_deadlines from every record's `deadlines` (after writes that bypass the
    ORM, e.g. a bulk insert; ORM writes keep it themselves: storage.funding.models)."""
    from sqlalchemy import delete, insert
    await session.execute(delete(FundingDeadline))
    rows = [r for fid, deadlines in (await session.execute(select(FundingInstrument.id, FundingInstrument.deadlines))).all()
            for r in deadline_rows(fid, deadlines)]
    for i in range(0, len(rows), 5000):
        await session.execute(insert(FundingDeadline), rows[i:i + 5000])
    return len(rows)


def load_bundled(path: Path = DATA_FILE) -> list[InstrumentRecord]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [InstrumentRecord.model_validate({"origin": "bundled", **r}) for r in data["instruments"]]


BUNDLED_BY = "bundled data"
