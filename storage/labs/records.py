"""Living labs: the validated record schema, the search index, query parsing (place,
province, radius and theme words in free text) and ranked search, and loading the
bundled data. Used by commands/labs/commands.py, storage/labs/dataset.py and bench/bench_labs.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import topics
from storage.geo import Gazetteer, Place, Resolution, bounding_box, gazetteer, haversine_km
from storage.labs.models import Lab
from storage.datasets.dataset import fill_empty_table
from storage.search import STOPWORDS, SearchIndex, query_terms, ranking, tokens

DATA_FILE = Path(__file__).parent / "data" / "labs.yaml"

ECOSYSTEMS = (
    "Data and Knowledge Hub Healthy Urban Living",
    "Digicampus",
    "Municipality of Rotterdam",
    "Urban Development Initiative",
    "Brightlands Public Services Lab",
)
_ECOSYSTEM_ALIASES = {
    "brightlands public services lab / smart services campus": "Brightlands Public Services Lab",
    "brightlands smart services campus": "Brightlands Public Services Lab",
    "smart services campus": "Brightlands Public Services Lab",
    "public services lab": "Brightlands Public Services Lab",
    "gemeente rotterdam": "Municipality of Rotterdam",
    "rotterdam": "Municipality of Rotterdam",
    "data- en kennishub gezond stedelijk leven": "Data and Knowledge Hub Healthy Urban Living",
    "dkh gsl": "Data and Knowledge Hub Healthy Urban Living",
    "udi": "Urban Development Initiative",
}
SERVICES = ("co-creation", "exploration", "experimentation", "evaluation")
TARGET_USERS = ("municipality", "province", "water_board", "central_government", "company", "sme",
                "knowledge_institution", "ngo", "citizens", "citizen_initiative")
FIELDS = ("id", "name", "host_organisation", "ecosystem", "municipality", "province", "latitude", "longitude",
          "themes", "facilities", "facilities_nl", "target_users", "services", "enoll_member", "cost_note", "website", "contact",
          "description", "description_nl", "source", "last_checked", "checked_by", "ended_on", "end_estimate",
          "end_source")
LIST_FIELDS = ("themes", "facilities", "facilities_nl", "target_users", "services")

# The Netherlands incl. the Wadden islands and a margin.
LAT_RANGE = (50.6, 53.7)
LON_RANGE = (3.2, 7.3)



@lru_cache(maxsize=1)
def _topic_words() -> dict[str, set[str]]:
    """Single words of topic labels and aliases (>= 5 letters) -> topic ids."""
    out: dict[str, set[str]] = {}
    for t in topics.all_topics():
        for term in t.terms:
            for w in tokens(term):
                if len(w) >= 5 and w not in STOPWORDS:
                    out.setdefault(w, set()).add(t.id)
    return out


def compound_topics(text: str) -> list[str]:
    """Topics whose words start with a query word or are the start of one: Dutch compounds
    such as "klimaat" (klimaatadaptatie, klimaatneutraal) or "hittestressplan" (hittestress)."""
    found: list[str] = []
    vocab = _topic_words()
    for w in tokens((text or "")[:500])[:32]:
        if len(w) < 5 or w in STOPWORDS:
            continue
        for tw, ids in vocab.items():
            if tw != w and (tw.startswith(w) or (len(tw) >= 6 and w.startswith(tw))):
                found.extend(i for i in sorted(ids) if i not in found)
    return found


def expand_query(text: str) -> list[str]:
    """Topic tags for the search engine: topics named in the text, and compound matches."""
    tags = topics.expand_query(text)
    return tags + [topics.tag(i) for i in compound_topics(text) if topics.tag(i) not in tags]


LABS_INDEX = SearchIndex("labs_search", {"name": 5.0, "themes": 3.0, "facilities": 2.0, "body": 1.0},
                         expand=expand_query, synonyms=topics.expand_words,
                         version=2)   # 2: Dutch facilities indexed too


# ----------------------------------------------------------------------------- schema
def _empty_to_none(v):
    return None if isinstance(v, str) and not v.strip() else v


class LabRecord(BaseModel):
    """One living lab as found in data files (YAML/JSON/CSV)."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,98}$")
    name: str = Field(min_length=2, max_length=300)
    host_organisation: str = Field(default="", max_length=500)
    ecosystem: str | None = Field(default=None, max_length=200)
    municipality: str = Field(min_length=1, max_length=100)
    province: str | None = Field(default=None, max_length=50)
    latitude: float | None = Field(default=None, ge=LAT_RANGE[0], le=LAT_RANGE[1])
    longitude: float | None = Field(default=None, ge=LON_RANGE[0], le=LON_RANGE[1])
    themes: list[str] = Field(default_factory=list, max_length=12)
    facilities: list[str] = Field(default_factory=list, max_length=50)
    facilities_nl: list[str] = Field(default_factory=list, max_length=50)   # the same, in Dutch (optional)
    target_users: list[Literal["municipality", "province", "water_board", "central_government", "company", "sme",
                               "knowledge_institution", "ngo", "citizens", "citizen_initiative"]] = Field(
        default_factory=list)
    services: list[Literal["co-creation", "exploration", "experimentation", "evaluation"]] = Field(
        default_factory=list)
    enoll_member: bool = False
    cost_note: str | None = Field(default=None, max_length=2000)
    website: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    contact: str | None = Field(default=None, max_length=255,
                                pattern=r"^(@[^:\s]+:[^\s]+|[^@\s]+@[^@\s]+\.[a-z]{2,}|https?://\S+)$")
    description: str = Field(default="", max_length=5000)
    description_nl: str = Field(default="", max_length=5000)
    source: str = Field(default="", max_length=2000)
    last_checked: date | None = None
    checked_by: str | None = Field(default=None, max_length=255)
    # Ended (or, for a temporary site, ending) on this day; `end_estimate`: only roughly known
    # (its year is shown); `end_source`: where that is stated (an official page first).
    ended_on: date | None = None
    end_estimate: bool = False
    end_source: str | None = Field(default=None, max_length=2000)

    _nullable = field_validator("ecosystem", "province", "cost_note", "website", "contact", "last_checked",
                                "latitude", "longitude", "checked_by", "ended_on", "end_source",
                                mode="before")(classmethod(lambda cls, v: _empty_to_none(v)))

    @field_validator("end_estimate", mode="before")
    @classmethod
    def _bool_default(cls, v):
        return False if v is None or (isinstance(v, str) and not v.strip()) else v

    @model_validator(mode="after")
    def _end_has_source(self):
        if self.ended_on is not None and not self.end_source:
            raise ValueError("end_source: say where the end date is stated")
        return self
    _none_is_empty = field_validator("host_organisation", "description", "description_nl", "source",
                                     mode="before")(classmethod(lambda cls, v: "" if v is None else v))

    @field_validator("facilities", "facilities_nl")
    @classmethod
    def _facilities(cls, v: list[str]) -> list[str]:
        out = []
        for item in v:
            item = str(item).strip()
            if not item:
                continue
            if len(item) > 300:
                raise ValueError("a facility is at most 300 characters")
            out.append(item)
        return list(dict.fromkeys(out))

    @field_validator("themes")
    @classmethod
    def _themes(cls, v: list[str]) -> list[str]:
        out = []
        for t in v:
            topic = topics.get(t) or topics.lookup(t)
            if topic is None:
                raise ValueError(f"unknown theme {t!r} (known: {', '.join(topics.ids())})")
            out.append(topic.id)
        return list(dict.fromkeys(out))

    @field_validator("target_users", "services")
    @classmethod
    def _dedupe(cls, v):
        return list(dict.fromkeys(v))

    @field_validator("ecosystem")
    @classmethod
    def _ecosystem(cls, v: str | None) -> str | None:
        if v is None or v in ECOSYSTEMS:
            return v
        canon = {e.lower(): e for e in ECOSYSTEMS} | _ECOSYSTEM_ALIASES
        if v.lower() in canon:
            return canon[v.lower()]
        raise ValueError(f"unknown ecosystem {v!r} (known: {'; '.join(ECOSYSTEMS)}; or empty)")

    @model_validator(mode="after")
    def _place(self):
        gaz = gazetteer()
        muni = gaz.municipalities.get(self.municipality)
        if muni is None:
            res = gaz.resolve(self.municipality)
            if res.place is not None and res.place.kind == "municipality":
                muni = res.place
                self.municipality = muni.name
            else:
                close = [n for n in gaz.suggest(self.municipality) if n in gaz.municipalities or gaz.resolve(n).ok]
                hint = f" (did you mean: {', '.join(close)}?)" if close else ""
                raise ValueError(f"municipality: {self.municipality!r} is not a Dutch municipality{hint}")
        if self.province is None:
            self.province = muni.province
        else:
            prov = gaz.province(self.province)
            if prov is None:
                raise ValueError(f"province: {self.province!r} is not a Dutch province")
            if prov != muni.province:
                raise ValueError(f"province: {muni.name} lies in {muni.province}, not in {prov}")
            self.province = prov
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude/longitude: give both or neither")
        if self.latitude is None:
            self.latitude, self.longitude = muni.latitude, muni.longitude
        elif haversine_km(self.latitude, self.longitude, muni.latitude, muni.longitude) > 60:
            raise ValueError(f"latitude/longitude: the point is more than 60 km from {muni.name}; "
                             "check the coordinates or the municipality")
        return self

    def to_row(self) -> dict[str, Any]:
        return self.model_dump()


def has_ended(lab, today: date) -> bool:
    """The lab has stopped: kept findable as history, never offered for access requests."""
    return lab.ended_on is not None and lab.ended_on <= today


def record_of(row: Lab) -> dict[str, Any]:
    """A model row as a plain dict in the file schema (for export and re-validation)."""
    return {f: getattr(row, f) for f in FIELDS}


# ----------------------------------------------------------------------------- index
def search_fields(row: Lab) -> dict[str, str]:
    return {
        "name": " ".join(filter(None, [row.name, row.id.replace("-", " ")])),
        "themes": topics.index_text(row.themes or []),
        "facilities": " ".join([*(row.facilities or []), *(row.facilities_nl or [])]),
        "body": " ".join(filter(None, [row.description, row.description_nl, row.host_organisation, row.ecosystem,
                                       " ".join(row.services or [])])),
    }


async def reindex(session: AsyncSession, rows: list[Lab] | None = None) -> int:
    if rows is None:
        rows = list((await session.scalars(select(Lab))).all())
    return await LABS_INDEX.rebuild(session, ((r.id, search_fields(r)) for r in rows))


def load_bundled(path: Path = DATA_FILE) -> list[LabRecord]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [LabRecord.model_validate(r) for r in data["labs"]]


# Fill an empty table from the bundled file (a no-op when it has rows).
load_sample_data = fill_empty_table(Lab, load_bundled, reindex)


# ----------------------------------------------------------------------------- queries
# Words that say "a lab" but say nothing about which one; dropped before full-text search.
LAB_WORDS = frozenset("""
lab labs living livinglab livinglabs proeftuin proeftuinen fieldlab fieldlabs field testomgeving testomgevingen
testbed testbeds testlocatie testlocaties test testen facility facilities faciliteit faciliteiten
experimenteerruimte experimenteerruimtes experimenteeromgeving praktijklab praktijklabs innovatielab
are there er zijn is welke which any some
""".split())

LAB_SIGNALS = re.compile(
    r"\b(living\s*labs?|labs?|proeftuin(en)?|field\s*labs?|fieldlabs?|testomgeving(en)?|test\s*(facility|facilities|bed|beds|site|sites|environments?)"
    r"|testbeds?|testlocaties?|praktijklabs?|innovatielabs?|experimenteer(ruimte|omgeving)s?)\b", re.I)

_WITHIN = re.compile(r"(?:\b(?:within|binnen(?:\s+een\s+straal\s+van)?|straal\s+van|radius(?:\s+of)?|max(?:imaal|imum)?|up\s+to|tot)\s*)?"
                     r"\b(\d{1,4}(?:[.,]\d+)?)\s*(?:km|kilometers?|kilometres?)\b", re.I)

MAX_RADIUS_KM = 400.0


@dataclass
class LabQuery:
    text: str = ""                                          # words for full-text search
    themes: list[str] = field(default_factory=list)         # hard filter (any of these)
    boost_themes: list[str] = field(default_factory=list)   # themes named in the words (ranking only)
    province: str | None = None
    near: Place | None = None
    within_km: float | None = None
    unresolved: list[Resolution] = field(default_factory=list)  # unknown/ambiguous places in the text

    @property
    def empty(self) -> bool:
        return not (query_terms(self.text) or self.themes or self.province or self.near)


@dataclass
class LabHit:
    lab: Lab
    score: float
    distance_km: float | None = None


def parse_words(text: str, gaz: Gazetteer | None = None) -> LabQuery:
    """Free text ("klimaatadaptatie in de buurt van Zwolle binnen 30 km", "living labs for
    data in Limburg") -> place, province, radius, theme words and the remaining words."""
    gaz = gaz or gazetteer()
    text = (text or "")[:2000]
    q = LabQuery()
    cut: list[tuple[int, int]] = []
    m = None
    for m in _WITHIN.finditer(text):
        q.within_km = min(MAX_RADIUS_KM, max(0.1, float(m.group(1).replace(",", "."))))
        cut.append(m.span())
    for phrase in gaz.find(text):
        res = phrase.resolution
        if res.place is None:
            q.unresolved.append(res)
            cut.append(phrase.span)
            continue
        if res.place.kind == "province" and phrase.mode == "in":
            q.province = q.province or res.place.name
        elif res.place.kind == "province":
            # "near Limburg": a province as the centre is too vague; filter by it instead.
            q.province = q.province or res.place.name
        elif q.near is None:
            q.near = res.place
        cut.append(phrase.span)
    rest = []
    pos = 0
    for s, e in sorted(cut):
        if s >= pos:
            rest.append(text[pos:s])
        pos = max(pos, e)
    rest.append(text[pos:])
    remaining = " ".join(rest)
    words = re.findall(r"[^\W_]+(?:-[^\W_]+)*", remaining)
    # Lab words and stop words say nothing about which lab (the engine drops stop words too);
    # leaving them out keeps "I understood: …" short.
    q.text = " ".join(w for w in words if w.lower() not in LAB_WORDS and w.lower() not in STOPWORDS)
    named = [t.id for t in topics.find_in_text(q.text)]
    q.boost_themes = named + [i for i in compound_topics(q.text) if i not in named]
    return q


def has_lab_signal(text: str) -> bool:
    return bool(LAB_SIGNALS.search(text or ""))


# Distance decay for ranking with a centre but no hard radius: a lab 40 km away counts half
# (the ranking itself lives in storage.search.ranking.lab_score).
DECAY_KM = ranking.DECAY_KM
MAX_TEXT_HITS = 500


async def search_labs(session: AsyncSession, q: LabQuery, *, limit: int = 50) -> list[LabHit]:
    """Ranked labs for a query. Filters (province, themes, radius) are hard; text and
    named themes rank; with a centre, distance weighs in (and alone orders the list)."""
    filtered = bool(q.province or q.themes or (q.near and q.within_km))
    candidates: dict[str, float | None] | None = None   # id -> distance from the centre
    if filtered:
        c = Lab.__table__.c   # Core columns: no ORM row processing for thousands of candidates
        wanted = set(q.themes)
        cols = [c.id, c.latitude, c.longitude] + ([c.themes] if wanted else [])
        stmt = select(*cols)
        if q.province:
            stmt = stmt.where(c.province == q.province)
        if q.near and q.within_km:
            a, b, c1, d = bounding_box(q.near.latitude, q.near.longitude, q.within_km)
            stmt = stmt.where(c.latitude.between(a, b), c.longitude.between(c1, d))
        candidates = {}
        for row in (await session.execute(stmt)).all():
            lab_id, lat, lon = row[0], row[1], row[2]
            if wanted and not wanted.intersection(row[3] or ()):
                continue
            dist = haversine_km(q.near.latitude, q.near.longitude, lat, lon) if q.near else None
            if q.within_km and dist is not None and dist > q.within_km:
                continue
            candidates[lab_id] = dist
        if not candidates:
            return []
    scores: dict[str, float]
    if query_terms(q.text):
        hits = await LABS_INDEX.search(session, q.text, limit=MAX_TEXT_HITS,
                                       ids_filter=list(candidates) if candidates is not None else None)
        scores = dict(hits)
    elif candidates is not None:
        scores = {i: 1.0 for i in candidates}
    elif q.near:
        scores = {i: 1.0 for i in (await session.scalars(select(Lab.id))).all()}
    else:
        scores = {i: 1.0 for i in (await session.scalars(select(Lab.id).order_by(Lab.name).limit(limit))).all()}
    if not scores:
        return []
    # Score on light columns (id, point, themes, name); load whole rows only for the top.
    light: dict[str, tuple] = {}
    ids = list(scores)
    for i in range(0, len(ids), 900):
        c = Lab.__table__.c
        stmt = select(c.id, c.latitude, c.longitude, c.themes, c.name).where(c.id.in_(ids[i:i + 900]))
        light.update({r[0]: r for r in (await session.execute(stmt)).all()})
    boost = set(q.boost_themes)
    ranked: list[tuple[float, float | None, str, str]] = []
    for lab_id, base in scores.items():
        row = light.get(lab_id)
        if row is None:
            continue
        _, lat, lon, themes, name = row
        dist = None
        if q.near:
            dist = candidates.get(lab_id) if candidates else None
            if dist is None:
                dist = haversine_km(q.near.latitude, q.near.longitude, lat, lon)
        ranked.append((ranking.lab_score(base, themes or (), boost, dist), dist, name, lab_id))
    if q.near and not query_terms(q.text) and not boost:
        ranked.sort(key=lambda h: (h[1], h[2]))
    elif not query_terms(q.text) and not q.near:
        ranked.sort(key=lambda h: (-h[0], h[2]))
    else:
        ranked.sort(key=lambda h: (-h[0], h[1] or 0.0, h[2]))
    ranked = ranked[:limit]
    rows = {r.id: r for r in (await session.scalars(select(Lab).where(Lab.id.in_([h[3] for h in ranked])))).all()}
    return [LabHit(rows[h[3]], h[0], h[1]) for h in ranked if h[3] in rows]
