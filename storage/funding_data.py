"""Funding instruments: the validated record schema, status derived from dates, the
search index, and loading the bundled data. Used by commands/funding.py and
storage/funding_io.py."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import topics
from storage.models.funding import FundingInstrument
from storage.search import SearchIndex

DATA_FILE = Path(__file__).parent / "data" / "funding.yaml"

LEVELS = ("eu", "national", "provincial", "regional", "local")
APPLICANTS = ("municipality", "province", "water_board", "central_government", "company", "sme",
              "knowledge_institution", "ngo", "citizen_initiative")
DEADLINE_MODELS = ("single", "two_stage", "multiple_cutoffs", "continuous")
STATUSES = ("open", "forthcoming", "continuous", "closed")
FIELDS = ("id", "title", "title_nl", "programme", "identifier", "level", "managing_body", "themes",
          "eligible_applicants", "consortium_rule", "cofinancing_rate", "budget_total_eur", "grant_min_eur",
          "grant_max_eur", "opens_on", "deadline_model", "deadlines", "deadline_note", "summary", "summary_nl", "url", "source",
          "last_checked")

FUNDING_INDEX = SearchIndex("funding_search", {"title": 6.0, "topics": 3.0, "body": 1.0},
                            synonyms=topics.expand_words)


# ----------------------------------------------------------------------------- schema
class Deadline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    tz: str = "Europe/Amsterdam"
    label: str = Field(default="deadline", max_length=100)

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

    def stored(self) -> dict[str, str]:
        at = self.at if self.at.tzinfo is None else self.at.astimezone(ZoneInfo(self.tz)).replace(tzinfo=None)
        return {"at": at.isoformat(timespec="minutes" if at.second == 0 else "seconds"), "tz": self.tz,
                "label": self.label}


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
    deadline_note: str | None = Field(default=None, max_length=500)
    summary: str | None = Field(default=None, max_length=5000)
    summary_nl: str | None = Field(default=None, max_length=5000)
    url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$")
    source: str | None = Field(default=None, max_length=2000)
    last_checked: date | None = None

    _nullable = field_validator("title_nl", "programme", "identifier", "managing_body", "consortium_rule",
                                "summary", "summary_nl", "url", "source", "deadline_note", "opens_on", "last_checked",
                                "cofinancing_rate", "budget_total_eur", "grant_min_eur", "grant_max_eur",
                                mode="before")(classmethod(lambda cls, v: _empty_to_none(v)))

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
        self.deadlines.sort(key=lambda d: d.aware())
        return self

    def to_row(self) -> dict[str, Any]:
        data = self.model_dump()
        data["deadlines"] = [d.stored() for d in self.deadlines]
        return data


def record_of(row: FundingInstrument) -> dict[str, Any]:
    """A model row as a plain dict in the file schema (for export and re-validation)."""
    return {f: getattr(row, f) for f in FIELDS}


# ----------------------------------------------------------------------------- status
def deadlines_of(row: FundingInstrument) -> list[tuple[datetime, str]]:
    """(aware datetime, label) of every deadline, in date order."""
    out = []
    for d in row.deadlines or []:
        try:
            at = datetime.fromisoformat(str(d["at"]))
            if at.tzinfo is None:
                at = at.replace(tzinfo=ZoneInfo(d.get("tz") or "Europe/Amsterdam"))
        except (KeyError, ValueError, ZoneInfoNotFoundError):
            continue
        out.append((at, str(d.get("label") or "deadline")))
    return sorted(out, key=lambda p: p[0])


def opens_at(row: FundingInstrument) -> datetime | None:
    if row.opens_on is None:
        return None
    return datetime.combine(row.opens_on, time(0, 0), ZoneInfo("Europe/Brussels"))


def status_of(row: FundingInstrument, now: datetime) -> str:
    """forthcoming / open / closed / continuous, from the dates as of `now`.

    - before opens_on: forthcoming;
    - continuous model: continuous until its (optional) end date, then closed;
    - otherwise open until the last deadline (two-stage calls stay open until their last
      stage; multiple cut-offs until the last cut-off), closed after it;
    - no deadline known (and not continuous): open once opened, if an opening date is known,
      else closed (we cannot tell; it is shown without a deadline)."""
    dl = deadlines_of(row)
    start = opens_at(row)
    if start is not None and now < start:
        return "forthcoming"
    if row.deadline_model == "continuous":
        return "closed" if dl and dl[-1][0] < now else "continuous"
    if dl:
        return "open" if dl[-1][0] >= now else "closed"
    return "open" if start is not None else "closed"


def next_deadline(row: FundingInstrument, now: datetime) -> tuple[datetime, str] | None:
    for at, label in deadlines_of(row):
        if at >= now:
            return at, label
    return None


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


async def reindex(session: AsyncSession, rows: list[FundingInstrument] | None = None) -> int:
    if rows is None:
        rows = list((await session.scalars(select(FundingInstrument))).all())
    return await FUNDING_INDEX.rebuild(session, ((r.id, search_fields(r)) for r in rows))


def load_bundled(path: Path = DATA_FILE) -> list[InstrumentRecord]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [InstrumentRecord.model_validate(r) for r in data["instruments"]]


async def load_sample_data(session: AsyncSession) -> int:
    """Fill an empty funding table from the bundled file (no-op when it has rows)."""
    if (await session.scalar(select(func.count()).select_from(FundingInstrument))) or 0:
        return 0
    rows = [FundingInstrument(**rec.to_row(), updated_by="bundled data") for rec in load_bundled()]
    session.add_all(rows)
    await session.flush()
    await reindex(session, rows)
    return len(rows)
