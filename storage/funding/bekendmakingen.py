"""New Dutch subsidy regulations from the official journals, as candidates for Funding Lane.

The government publishes national, provincial, municipal and water-board regulations in the
Staatscourant, Provinciaal blad, Gemeenteblad and Waterschapsblad; KOOP's SRU interface
(`https://repository.overheid.nl/sru`, SRU 2.0, CQL queries) searches them.

What we rely on, and where it comes from:

- The response envelope (`sru:searchRetrieveResponse` in namespace
  `http://docs.oasis-open.org/ns/search-ws/sruResponse`, `sru:numberOfRecords`,
  `sru:records/sru:record/sru:recordData/gzd:gzd` with `gzd:originalData/
  overheidwetgeving:meta/{owmskern,owmsmantel}` and `gzd:enrichedData/{gzd:url,
  gzd:preferredUrl}`) is RECORDED: tests/data/officiele_bekendmakingen/ holds a real (trimmed)
  response, byte for byte, with its provenance.
- Not recorded (no untouched public recording exists; see that folder's README), and taken
  from KOOP's manual "Uitvragen Officiële Publicaties" (section 3 "Zoekfunctionaliteit
  middels de webservice", Bijlage 1 "Mogelijke zoekvelden") and the SRU 2.0 standard
  (OASIS searchRetrieve, parts 2 and 3):
  * request parameters `operation=searchRetrieve`, `version=2.0`, `query` (CQL),
    `startRecord` (1-based), `maximumRecords`, `recordSchema=gzd`;
  * the CQL indexes `c.product-area==officielepublicaties`, `w.publicatienaam` (the
    journal: "Staatscourant", "Provinciaal blad", "Gemeenteblad", "Waterschapsblad"),
    `dt.title`, `dt.available` (publication date, `>=` compares dates);
  * in `owmskern`: `dcterms:creator` (the issuing body) and in `tpmeta`
    (namespace `http://standaarden.overheid.nl/product/terms/`): `publicatienaam` and
    `organisatietype`; `dcterms:abstract` may be absent;
  * `sru:nextRecordPosition` when more records follow; errors as `sru:diagnostics`
    (a request with an unsupported parameter is refused with one, not ignored).
  The parser reads each of these where present and never needs one to be there: a record
  without a journal or body still becomes a candidate when its title is a subsidy regulation
  of a known journal type; one we cannot place is dropped with its reason.

Legal texts are not reliably machine-readable, so nothing here becomes a funding record by
itself: each publication becomes a *candidate* that a facilitator accepts (with
corrections) or dismisses. Dates and amounts are read from the title and abstract only when
the text states them in one unambiguous phrase; otherwise they are left empty."""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree as ET

import aiohttp

from storage import topics

SOURCE = "officiele-bekendmakingen"
NS = {
    "sru": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
    "gzd": "http://standaarden.overheid.nl/sru",
    "dcterms": "http://purl.org/dc/terms/",
    "ow": "http://standaarden.overheid.nl/wetgeving/",
    "owms": "http://standaarden.overheid.nl/owms/terms/",
    "tp": "http://standaarden.overheid.nl/product/terms/",
    "diag": "http://docs.oasis-open.org/ns/search-ws/diagnostic",
}
# The four journals in which regulations of the four levels of government are published.
JOURNALS = {"staatscourant": "national", "provinciaal blad": "provincial", "gemeenteblad": "local",
            "waterschapsblad": "regional"}
# The identifier prefix of each journal (stcrt-2026-123, prb-…, gmb-…, wsb-…).
PREFIXES = {"stcrt": "national", "prb": "provincial", "gmb": "local", "wsb": "regional"}
ORGANISATION_LEVELS = {"ministerie": "national", "zelfstandig bestuursorgaan": "national", "provincie": "provincial",
                       "gemeente": "local", "waterschap": "regional"}
# What makes a publication a subsidy regulation (title words; Dutch compounds included).
SUBSIDY = re.compile(r"subsidie|uitvoeringsregeling\b.*\b(bijdrage|fonds|stimulering|subsidie)", re.I)
TITLE_TERMS = ("subsidieregeling", "subsidieplafond", "subsidieplafonds", "subsidieverordening",
               "uitvoeringsregeling", "subsidie")


class SruError(Exception):
    """The SRU service could not be read or refused the query; nothing is changed."""


# ----------------------------------------------------------------------------- query
def cql(since: date) -> str:
    """Publications in the four journals since `since` whose title names a subsidy regulation."""
    journals = " OR ".join(f'w.publicatienaam=="{j.title() if j != "provinciaal blad" else "Provinciaal blad"}"'
                           for j in JOURNALS)
    titles = " OR ".join(f"dt.title={t}" for t in TITLE_TERMS)
    return (f"c.product-area==officielepublicaties AND ({journals}) AND ({titles}) "
            f"AND dt.available>={since.isoformat()}")


@dataclass
class Publication:
    identifier: str
    title: str
    journal: str | None
    issuer: str | None
    organisation_type: str | None
    kind: str | None               # dcterms:type (Kamerstuk, Staatscourant, Gemeenteblad, …)
    published_on: date | None
    url: str | None
    abstract: str | None


@dataclass
class Batch:
    publications: list[Publication] = field(default_factory=list)
    total: int = 0
    complete: bool = True
    dropped: Counter = field(default_factory=Counter)


@dataclass
class SruClient:
    url: str = "https://repository.overheid.nl/sru"
    page_size: int = 100
    max_pages: int = 10
    timeout: float = 60.0
    requests: int = field(default=0, init=False)

    async def search(self, session: aiohttp.ClientSession, query: str) -> Batch:
        out = Batch()
        start = 1
        for _ in range(self.max_pages):
            self.requests += 1
            params = {"operation": "searchRetrieve", "version": "2.0", "query": query, "startRecord": str(start),
                      "maximumRecords": str(self.page_size), "recordSchema": "gzd"}
            try:
                async with session.get(self.url, params=params,
                                       timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    if resp.status != 200:
                        raise SruError(f"the SRU service answered HTTP {resp.status}")
                    raw = await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise SruError(f"cannot read the SRU service ({type(exc).__name__}: {exc})") from None
            page = parse_response(raw)
            out.total = page.total
            out.publications += page.publications
            out.dropped += page.dropped
            nxt = page_next(raw)
            if not page.publications and not page.dropped or nxt is None:
                return out
            start = nxt
        out.complete = False
        return out


async def fetch_live(client: SruClient, since: date) -> Batch:
    async with aiohttp.ClientSession(headers={"Accept": "application/xml"}) as session:
        return await client.search(session, cql(since))


# ----------------------------------------------------------------------------- parsing
def _root(raw: bytes) -> ET.Element:
    head = raw[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in raw.lower():
        raise SruError("unexpected response: a document type declaration (refused)")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise SruError(f"unexpected response: not XML ({exc})") from None


def page_next(raw: bytes) -> int | None:
    el = _root(raw).find("sru:nextRecordPosition", NS)
    try:
        return int(el.text) if el is not None and el.text else None
    except ValueError:
        return None


def _text(parent: ET.Element | None, path: str) -> str | None:
    if parent is None:
        return None
    el = parent.find(path, NS)
    if el is None or el.text is None:
        return None
    value = " ".join(el.text.split())
    return value or None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def parse_response(raw: bytes) -> Batch:
    """The publications in one SRU answer. SruError for diagnostics or a broken envelope."""
    root = _root(raw)
    if root.tag != f"{{{NS['sru']}}}searchRetrieveResponse":
        raise SruError(f"unexpected response: root element {root.tag}")
    diag = root.find("sru:diagnostics", NS)
    if diag is not None and len(diag):
        msg = " ".join(filter(None, ((_text(d, "diag:message") or _text(d, "diag:details") or "")
                                     for d in diag))) or "diagnostic without message"
        raise SruError(f"the SRU service refused the query: {msg}")
    out = Batch()
    try:
        out.total = int(_text(root, "sru:numberOfRecords") or 0)
    except ValueError:
        raise SruError("unexpected response: numberOfRecords is not a number") from None
    for rec in root.findall("sru:records/sru:record", NS):
        gzd = rec.find("sru:recordData/gzd:gzd", NS)
        meta = gzd.find("gzd:originalData/ow:meta", NS) if gzd is not None else None
        if meta is None:
            out.dropped["no metadata"] += 1
            continue
        kern = meta.find("owms:owmskern", NS)
        mantel = meta.find("owms:owmsmantel", NS)
        tp = meta.find("tp:tpmeta", NS)
        ident = _text(kern, "dcterms:identifier")
        title = _text(kern, "dcterms:title")
        if not ident or not title:
            out.dropped["no identifier or title"] += 1
            continue
        enriched = gzd.find("gzd:enrichedData", NS)
        out.publications.append(Publication(
            identifier=ident, title=title,
            journal=_text(tp, "tp:publicatienaam"), issuer=_text(kern, "dcterms:creator"),
            organisation_type=_text(tp, "tp:organisatietype"), kind=_text(kern, "dcterms:type"),
            published_on=_date(_text(mantel, "dcterms:available") or _text(mantel, "dcterms:issued")),
            url=_text(enriched, "gzd:preferredUrl") or _text(enriched, "gzd:url"),
            abstract=_text(mantel, "dcterms:abstract")))
    return out


# ----------------------------------------------------------------------------- candidates
def level_of(p: Publication) -> str | None:
    for value in (p.journal, p.kind):
        if value and value.strip().lower() in JOURNALS:
            return JOURNALS[value.strip().lower()]
    prefix = p.identifier.split("-", 1)[0].lower()
    if prefix in PREFIXES:
        return PREFIXES[prefix]
    return None


def is_subsidy_regulation(title: str) -> bool:
    return bool(SUBSIDY.search(title))


_MONTHS = {m: i for i, m in enumerate(("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                                        "september", "oktober", "november", "december"), 1)}
_DATE = r"(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)"
# "van 1 februari 2027 tot en met 31 maart 2027", "vanaf 1 februari 2027 tot 31 maart 2027"
_PERIOD = re.compile(r"\b(?:van(?:af)?|met ingang van)\s+" + _DATE + r"\s+(?:tot en met|t/m|tot)\s+" + _DATE, re.I)
# "uiterlijk 31 maart 2027", "tot en met 31 maart 2027 ingediend", "aanvragen … tot 31 maart 2027"
_UNTIL = re.compile(r"\b(?:uiterlijk|tot en met|t/m)\s+" + _DATE, re.I)
_AMOUNT = re.compile(r"(?:€|EUR|euro)\s*([\d.]+(?:,\d+)?)\s*(miljoen|mln\.?)?", re.I)


def _mkdate(d: str, m: str, y: str) -> date | None:
    try:
        return date(int(y), _MONTHS[m.lower()], int(d))
    except ValueError:
        return None


def read_dates(text: str) -> tuple[date | None, date | None]:
    """(opens, closes) when the text states exactly one period (or one closing date);
    nothing when it states several or none: we do not guess between them."""
    periods = _PERIOD.findall(text)
    if len(periods) == 1:
        d1, m1, y1, d2, m2, y2 = periods[0]
        a, b = _mkdate(d1, m1, y1), _mkdate(d2, m2, y2)
        return (a, b) if a and b and a <= b else (None, None)
    if periods:
        return None, None
    until = _UNTIL.findall(text)
    if len(until) == 1:
        return None, _mkdate(*until[0])
    return None, None


def read_amount(text: str) -> int | None:
    """The subsidy ceiling when the text states exactly one amount in euros."""
    found = set()
    for num, million in _AMOUNT.findall(text):
        try:
            value = float(num.replace(".", "").replace(",", "."))
        except ValueError:
            continue
        found.add(int(round(value * 1_000_000)) if million else int(round(value)))
    return found.pop() if len(found) == 1 else None


@dataclass
class Candidate:
    external_id: str
    title: str
    issuer: str | None
    level: str
    published_on: date | None
    url: str | None
    topics: list[str]
    opens_on: date | None
    closes_on: date | None
    amount_eur: int | None
    excerpt: str | None


def to_candidates(batch: Batch) -> tuple[list[Candidate], Counter]:
    """Subsidy regulations of the four journals about one of the twelve topics."""
    out: list[Candidate] = []
    dropped = Counter(batch.dropped)
    seen: set[str] = set()
    for p in batch.publications:
        level = level_of(p)
        if level is None:
            dropped[f"not in one of the four journals ({p.kind or p.journal or '?'})"] += 1
            continue
        if not is_subsidy_regulation(p.title):
            dropped["not a subsidy regulation"] += 1
            continue
        if p.identifier in seen:
            dropped["duplicate"] += 1
            continue
        text = " ".join(filter(None, [p.title, p.abstract]))
        found = [t.id for t in topics.find_in_text(text[:4000])]
        if not found:
            dropped["about none of the twelve topics"] += 1
            continue
        seen.add(p.identifier)
        opens, closes = read_dates(text)
        out.append(Candidate(external_id=p.identifier, title=p.title[:1000], issuer=p.issuer, level=level,
                             published_on=p.published_on, url=p.url, topics=found[:6], opens_on=opens,
                             closes_on=closes, amount_eur=read_amount(text),
                             excerpt=(p.abstract or "")[:2000] or None))
    return out, dropped
