"""The EU Funding & Tenders portal's public search API (SEDIA), for
`dsih-bot refresh funding --source eu-ft`: fetch the open and forthcoming calls of the
programmes local and regional government applies to or partners in, keep those about the
hub's topics, and map each to a funding record.

The portal's own front end uses this API with the public key `SEDIA`:
POST {url}?apiKey=SEDIA&text=…&pageSize=…&pageNumber=… with a multipart form whose parts
`query`, `languages`, `sort` are JSON (application/json parts; a JSON body is silently
ignored). Real responses (tests/data/eu_ft/real/, provenance in its README) differ from the
documentation in ways this module handles:

- every metadata value is a list of strings; `actions`, `budgetOverview` and sometimes
  `keywords` are JSON inside a string;
- `budgetOverview` holds the budget lines of the whole *call*: a topic's own lines are
  those whose `action` starts with its identifier; some joint-undertaking calls repeat
  the call's pool on every line;
- `actions` is the topic's own status, opening date, procedure and deadline days;
- cascade-funding calls (type 8) are run by funded projects: their `identifier` is the
  parent topic (shared by several calls), their own number is in `reference`/`url`;
- archived copies (DATASOURCE `SEDIA_PRD_CENTRICITY`) and other-language copies come back
  as if live; the status flag may contradict the dates (the dates win: storage.funding.records
  .status_of); two-stage topics are flagged closed after stage 1;
- filters the service does not accept are ignored, not refused: every row is re-checked
  and a row outside the filter fails the run (nothing is changed);
- paging sorted on a field with few values repeats or loses rows: we sort on `identifier`,
  dedupe on each row's own key and abort when `totalResults` changes between pages;
- topic deadlines are days (T00:00 UTC: the portal's usual hour is 17:00 Brussels time);
  cascade cut-offs carry real times, kept as given and shown in Brussels time.
Nothing here runs at start-up."""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from storage import topics
from storage.funding.records import InstrumentRecord

log = logging.getLogger(__name__)

BRUSSELS = ZoneInfo("Europe/Brussels")
STATUS_CODES = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
LIVE_STATUS_CODES = ["31094501", "31094502"]
# 1: grant topics, 2: external-action calls, 8: cascade-funding calls of funded projects
# (0 tenders and 6 "topic updates" are not calls one applies to).
RESULT_TYPES = ["1", "2", "8"]
CASCADE_TYPE = "8"
DATASOURCE = "SEDIA"          # `SEDIA_PRD_CENTRICITY` = archived copies
LANGUAGE = "en"
TOPIC_PAGE = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/{id}"
MAX_PAGE_SIZE = 100           # the service caps pages at 100 rows

# Programmes in scope, by identifier prefix (longest first wins) and by frameworkProgramme
# code: what local and regional government applies to or partners in. None = out of scope,
# with the reason in the comment.
PREFIXES: dict[str, str | None] = {
    "HORIZON-MISS": "Horizon Europe (Missions)", "HORIZON-CL1": "Horizon Europe (Cluster 1: Health)",
    "HORIZON-CL2": "Horizon Europe (Cluster 2: Culture, Creativity and Inclusive Society)",
    "HORIZON-CL3": "Horizon Europe (Cluster 3: Civil Security for Society)",
    "HORIZON-CL4": "Horizon Europe (Cluster 4: Digital, Industry and Space)",
    "HORIZON-CL5": "Horizon Europe (Cluster 5: Climate, Energy and Mobility)",
    "HORIZON-CL6": "Horizon Europe (Cluster 6: Food, Bioeconomy, Natural Resources, Agriculture and Environment)",
    "HORIZON-WIDERA": "Horizon Europe (Widening participation and strengthening the ERA)",
    "HORIZON-EIE": "Horizon Europe (European Innovation Ecosystems)",
    "HORIZON-EIT": "Horizon Europe (EIT)", "HORIZON-NEB": "Horizon Europe (New European Bauhaus)",
    "HORIZON-ERC": None,       # individual researchers
    "HORIZON-MSCA": None,      # researchers' careers and mobility
    "HORIZON-EIC": None,       # start-ups and companies
    "HORIZON-JU": None,        # industry-led joint undertakings
    "HORIZON-INFRA": None,     # research infrastructures
    "EURATOM": None,
    "HORIZON": "Horizon Europe", "DIGITAL": "Digital Europe Programme", "LIFE": "LIFE",
    "CEF": "Connecting Europe Facility", "ESF": "ESF+", "SOCPL": "ESF+ (EaSI strand)", "CERV": "CERV",
    "I3": "Interregional Innovation Investments (I3)", "JTM": "Just Transition Mechanism",
    "EUI": "European Urban Initiative", "INTERREG": "Interreg",
}
PROGRAMME_CODES: dict[str, str | None] = {
    "43108390": "Horizon Europe", "43152860": "Digital Europe Programme", "43252405": "LIFE",
    "43251567": "Connecting Europe Facility", "43254019": "ESF+", "43251589": "CERV",
    "44416173": "Interregional Innovation Investments (I3)", "44773066": "Just Transition Mechanism",
    "43089234": None,          # Innovation Fund: industrial decarbonisation projects
    "43353764": None,          # Erasmus+: schools, universities, youth organisations
    "43332642": None,          # EU4Health: health ministries and authorities
    "43392145": None,          # EMFAF: fisheries and aquaculture
}
# Who may apply, by the programmes' general rules for grant topics (any legal entity
# established in an eligible country, mostly in a consortium); the topic's conditions decide.
TOPIC_APPLICANTS = ["municipality", "province", "water_board", "central_government", "knowledge_institution",
                    "company", "sme", "ngo"]
CONSORTIUM_NOTE = ("Open to any legal entity established in an eligible country, usually as a consortium "
                   "(the programme's general rule); the topic's conditions on the portal decide.")
# Cascade calls for individuals only (students, interns, fellows) are not for public bodies.
INDIVIDUAL_WORDS = frozenset({"internship", "internships", "scholarship", "scholarships", "fellowship",
                              "fellowships", "traineeship", "traineeships", "student", "students", "phd"})
DEADLINE_MODELS = {"single-stage": "single", "two-stage": "two_stage", "multiple cut-off": "multiple_cutoffs",
                   "multiple-cut-off": "multiple_cutoffs", "multiple cut-offs": "multiple_cutoffs",
                   "continuous": "continuous", "single": "single", "two_stage": "two_stage"}
CHECKED_BY = "eu-ft refresh (EU Funding & Tenders portal, automatic)"
USUAL_HOUR = time(17, 0)


class PortalError(Exception):
    """The portal could not be read, or answered outside what was asked; nothing is changed."""


# ----------------------------------------------------------------------------- client
def query_parts() -> dict[str, Any]:
    """The multipart parts of every request (each a JSON document)."""
    return {
        "query": {"bool": {"must": [{"terms": {"type": RESULT_TYPES}},
                                    {"terms": {"status": LIVE_STATUS_CODES}},
                                    {"terms": {"DATASOURCE": [DATASOURCE]}}]}},
        "languages": [LANGUAGE],
        # A unique field: sorting on sortStatus (three values) makes pages repeat or lose rows.
        "sort": {"field": "identifier", "order": "ASC"},
    }


@dataclass
class Listing:
    """What one run read: the rows in order (deduplicated), and what it dropped."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0                     # totalResults as the service said
    complete: bool = True              # every page up to totalResults was read
    dropped: Counter = field(default_factory=Counter)    # reason -> rows


def _md(res: dict[str, Any]) -> dict[str, Any]:
    md = res.get("metadata")
    return md if isinstance(md, dict) else {}


def row_key(res: dict[str, Any]) -> str | None:
    """A row's own identity: the topic identifier, or for a cascade call its own number
    (its `identifier` is the parent topic, shared by several calls)."""
    md = _md(res)
    if str(_one(md, "type") or "") == CASCADE_TYPE:
        n = cascade_number(res)
        return f"cascade-call-{n}" if n else None
    ident = str(_one(md, "identifier") or "").strip()
    return ident or None


def check_row(res: dict[str, Any]) -> str | None:
    """Why a row does not match the filter we sent (None when it does). The service
    ignores filters it does not accept instead of refusing them."""
    md = _md(res)
    kind = str(_one(md, "type") or "")
    if kind and kind not in RESULT_TYPES:
        return f"type {kind}"
    lang = str(res.get("language") or _one(md, "language") or "")
    if lang and lang != LANGUAGE:
        return f"language {lang}"
    status = str(_one(md, "status") or "")
    if status and status not in LIVE_STATUS_CODES:
        return f"status {status}"
    return None


@dataclass
class PortalClient:
    url: str
    api_key: str = "SEDIA"
    page_size: int = MAX_PAGE_SIZE
    max_pages: int = 30
    timeout: float = 60.0
    requests: int = field(default=0, init=False)

    async def listing(self, session: aiohttp.ClientSession, text: str = "***", progress=None) -> Listing:
        """Every live row, page by page; rows seen on an earlier page are dropped as
        duplicates. PortalError when the service answers outside the filter or its total
        changes between pages (the listing moved under us: a later run will do)."""
        out = Listing()
        seen: set[str] = set()
        size = min(self.page_size, MAX_PAGE_SIZE)
        for page in range(1, self.max_pages + 1):
            body = await self._page(session, text, page, size)
            results = body.get("results") or []
            if not isinstance(results, list):
                raise PortalError("unexpected response: `results` is not a list")
            total = body.get("totalResults")
            total = total if isinstance(total, int) and total >= 0 else 0
            if page == 1:
                out.total = total
                if progress:
                    progress(0, max(1, min(self.max_pages, -(-total // size))))
            elif total != out.total:
                raise PortalError(f"the listing changed while it was read (totalResults {out.total} on page 1, "
                                  f"{total} on page {page}); try again later")
            for res in results:
                if not isinstance(res, dict):
                    continue
                if (why := check_row(res)) is not None:
                    raise PortalError(f"the portal ignored the filter ({why} in the answer); nothing was changed")
                if str(_one(_md(res), "DATASOURCE") or DATASOURCE) != DATASOURCE:
                    out.dropped["archived copy"] += 1
                    continue
                key = row_key(res)
                if key is None:
                    out.dropped["no identifier"] += 1
                    continue
                if key in seen:
                    out.dropped["duplicate"] += 1
                    continue
                seen.add(key)
                out.rows.append(res)
            if progress:
                progress(1)
            if not results:                   # an empty page before the total: we did not see everything
                out.complete = (page - 1) * size >= total
                break
            if page * size >= total:
                break
        else:
            out.complete = self.max_pages * size >= out.total
        return out

    async def _page(self, session: aiohttp.ClientSession, text: str, page: int, size: int) -> dict[str, Any]:
        form = aiohttp.FormData()
        for name, value in query_parts().items():
            form.add_field(name, json.dumps(value), content_type="application/json", filename="blob")
        params = {"apiKey": self.api_key, "text": text, "pageSize": str(size), "pageNumber": str(page)}
        self.requests += 1
        try:
            async with session.post(self.url, params=params, data=form,
                                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    raise PortalError(f"the portal answered HTTP {resp.status} for page {page}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PortalError(f"cannot read the portal ({type(exc).__name__}: {exc})") from None
        if not isinstance(body, dict):
            raise PortalError("unexpected response: not a JSON object")
        return body


async def fetch_live(client: PortalClient, progress=None) -> Listing:
    """The live listing. `progress(n, total)` (bot.progress) hears of each page."""
    async with aiohttp.ClientSession(headers={"Accept": "application/json"}) as session:
        return await client.listing(session, progress=progress)


# ----------------------------------------------------------------------------- reading values
def _one(md: dict[str, Any], key: str) -> Any:
    v = md.get(key)
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _strings(md: dict[str, Any], key: str) -> list[str]:
    v = md.get(key)
    if v is None:
        return []
    items = v if isinstance(v, list) else [v]
    out: list[str] = []
    for x in items:
        if isinstance(x, str) and x.startswith("[") and x.endswith("]"):   # a JSON list inside a string
            try:
                inner = json.loads(x)
            except json.JSONDecodeError:
                inner = None
            if isinstance(inner, list):
                out.extend(str(y) for y in inner if isinstance(y, (str, int, float)))
                continue
        if isinstance(x, (str, int, float)) and not isinstance(x, bool):
            out.append(str(x))
    return out


class _TextOf(HTMLParser):
    """Text content of an HTML fragment: blocks and line breaks become spaces, entities are
    decoded, script and style are dropped."""
    BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th",
                       "table", "span", "section", "blockquote", "hr", "dd", "dt"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(value: Any) -> str:
    """Plain text of the portal's HTML descriptions (one line, whitespace collapsed)."""
    s = str(value or "")
    if not s:
        return ""
    p = _TextOf()
    try:
        p.feed(s)
        p.close()
    except Exception:     # HTMLParser is lenient; a pathological input still gives no text rather than a crash
        return ""
    return " ".join("".join(p.parts).split())


def _json_value(raw: Any) -> Any:
    """A JSON document inside a string (or the value itself); None when unreadable."""
    if raw is None or isinstance(raw, (dict, list)):
        return raw
    try:
        return json.loads(str(raw))
    except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
        return None


def _action_lines(raw: Any) -> tuple[list[dict[str, Any]], bool]:
    """The budget lines of `budgetOverview`, and whether that is all of them. A string cut
    short (some recorders trimmed theirs) still yields every line that is complete."""
    blob = _json_value(raw)
    lines: list[dict[str, Any]] = []
    if isinstance(blob, dict):
        topic_map = blob.get("budgetTopicActionMap")
        for entries in (topic_map.values() if isinstance(topic_map, dict) else []):
            if isinstance(entries, list):
                lines += [a for a in entries if isinstance(a, dict)]
        return lines, True
    if isinstance(raw, str):
        dec = json.JSONDecoder()
        for m in re.finditer(r'\{"action"\s*:', raw):
            try:
                obj, _ = dec.raw_decode(raw, m.start())
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(obj, dict):
                lines.append(obj)
    return lines, False


def _money(v: Any) -> int | None:
    try:
        n = int(float(str(v).replace(",", "")))
    except (TypeError, ValueError, OverflowError):
        return None
    return n if 0 < n <= 10**13 else None


def _line_total(line: dict[str, Any]) -> int | None:
    years = line.get("budgetYearMap")
    vals = [_money(v) for v in (years.values() if isinstance(years, dict) else [])]
    vals = [v for v in vals if v]
    return sum(vals) if vals else None


def _line_topic(line: dict[str, Any]) -> str:
    return str(line.get("action") or "").split(" - ", 1)[0].strip()


@dataclass
class Budget:
    topic_total: int | None = None       # this topic's own lines
    grant_min: int | None = None
    grant_max: int | None = None
    call_total: int | None = None        # the whole call
    call_topics: int = 0                 # topics with lines in the call
    shared_pool: bool = False            # every line repeats the call's pool (some joint undertakings)
    own: list[dict[str, Any]] = field(default_factory=list)


def _count(v: Any) -> int:
    try:
        return max(1, int(v))
    except (TypeError, ValueError, OverflowError):
        return 1


def _shared_pool(lines: list[dict[str, Any]], totals: list[int | None]) -> bool:
    """Every line repeats one amount that is far more than its own grants could use: the
    call's pool, not the topic's budget (seen in joint-undertaking calls)."""
    if len(lines) < 2 or None in totals or len(set(totals)) != 1:
        return False
    return any((mx := _money(a.get("maxContribution"))) and totals[0] > 2 * mx * _count(a.get("expectedGrants"))
               for a in lines)


def budget_of(md: dict[str, Any], ident: str) -> Budget:
    """Topic and call budgets from `budgetOverview`: a topic's lines are those whose action
    starts with its identifier; never another topic's line."""
    lines, whole = _action_lines(_one(md, "budgetOverview"))
    out = Budget()
    if not lines:
        return out
    own = [a for a in lines if _line_topic(a) == ident]
    out.own = own
    totals = [_line_total(a) for a in lines]
    out.call_topics = len({_line_topic(a) for a in lines})
    known = [v for v in totals if v]
    if _shared_pool(lines, totals):
        out.shared_pool, out.call_total = True, totals[0]
    elif whole:                          # a call total only from every line of the call
        out.call_total = sum(known) or None
    if own:
        if not out.shared_pool:
            out.topic_total = sum(v for v in (_line_total(a) for a in own) if v) or None
        mins = [m for m in (_money(a.get("minContribution")) for a in own) if m]
        maxs = [m for m in (_money(a.get("maxContribution")) for a in own) if m]
        out.grant_min, out.grant_max = (min(mins) if mins else None), (max(maxs) if maxs else None)
        if out.grant_min and out.grant_max and out.grant_min > out.grant_max:
            out.grant_min, out.grant_max = out.grant_max, out.grant_min
    return out


def _actions(md: dict[str, Any]) -> list[dict[str, Any]]:
    blob = _json_value(_one(md, "actions"))
    return [a for a in blob if isinstance(a, dict)] if isinstance(blob, list) else []


_PORTAL_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$")


def portal_moment(value: Any) -> tuple[date, datetime | None] | None:
    """(day, exact moment or None) of a portal date. "2027-04-08", "18 January 2023" and
    midnight UTC ("2027-04-08T00:00:00.000+0000", "…T02:00:00.000+0200") are days only;
    other times ("2025-09-02T03:59:00.000+0000") are exact moments."""
    if value is None or isinstance(value, bool):
        return None
    s = str(value).strip()
    m = _PORTAL_TIME.match(s)
    try:
        if not m:
            return datetime.strptime(s, "%d %B %Y").date(), None
        y, mo, d, hh, mm, ss, zone = m.groups()
        if hh is None:
            return date(int(y), int(mo), int(d)), None
        tz = timezone.utc
        if zone and zone != "Z":
            z = zone.replace(":", "")
            sign = 1 if z[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(z[1:3]), minutes=int(z[3:5])))
        at = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0), tzinfo=tz)
    except (ValueError, OverflowError):
        return None
    utc = at.astimezone(timezone.utc)
    if utc.time() == time(0, 0):          # the usual shape: a day, sent as midnight UTC
        return utc.date(), None
    if at.time() == time(0, 0):           # midnight in the offset it was written in: a day too
        return at.date(), None
    return utc.astimezone(BRUSSELS).date(), at


def _deadlines(day_values: list[Any], moment_values: list[Any], model: str) -> tuple[list[dict], str, bool]:
    """Deadlines as stored records (wall time in Brussels), the model, and whether any
    time was assumed (the API gave a day only)."""
    moments: dict[date, datetime | None] = {}
    for v in list(moment_values) + list(day_values):
        pm = portal_moment(v)
        if pm is None:
            continue
        day, at = pm
        if at is not None:
            moments[day] = at               # an exact time beats a day
        else:
            moments.setdefault(day, None)
    days = sorted(moments)
    if model == "single" and len(days) > 1 or model == "two_stage" and len(days) > 2:
        model = "multiple_cutoffs"
    if model == "two_stage" and len(days) < 2:
        model = "single"
    assumed = False
    out = []
    for n, day in enumerate(days):
        at = moments[day]
        if at is None:
            wall = datetime.combine(day, USUAL_HOUR)
            assumed = True
        else:
            wall = at.astimezone(BRUSSELS).replace(tzinfo=None)
        label = ("stage 1", "stage 2")[n] if model == "two_stage" else (
            f"cut-off {n + 1}" if model == "multiple_cutoffs" else "deadline")
        out.append({"at": wall.isoformat(timespec="minutes"), "tz": "Europe/Brussels", "label": label})
    return out, model, assumed


def programme_of(ident: str, md: dict[str, Any]) -> tuple[str | None, bool]:
    """(programme name, in scope). Identifier prefixes first, then the framework code."""
    up = ident.upper()
    for prefix in sorted(PREFIXES, key=len, reverse=True):
        if up == prefix or up.startswith(prefix + "-"):
            name = PREFIXES[prefix]
            return (name or prefix.title()), name is not None
    code = str(_one(md, "frameworkProgramme") or "")
    if code in PROGRAMME_CODES:
        name = PROGRAMME_CODES[code]
        return name, name is not None
    return None, False


def cascade_number(res: dict[str, Any]) -> str | None:
    """A cascade call's own number: the digits of `reference` ("11143COMPETITIVE_CALLen"),
    else callccm2Id, else the page number in its url."""
    md = _md(res)
    ref = str(res.get("reference") or _one(md, "REFERENCE") or "")
    m = re.match(r"^(\d+)COMPETITIVE_CALL", ref)
    if m:
        return m.group(1)
    cc = str(_one(md, "callccm2Id") or "").strip()
    if cc.isdigit():
        return cc
    m = re.search(r"/competitive-calls-cs/(\d+)", str(res.get("url") or ""))
    return m.group(1) if m else None


def record_id(identifier: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", identifier.lower()).strip("-")
    return ("euft-" + slug)[:119].rstrip("-")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _eur(n: int) -> str:
    return f"EUR {n:,}".replace(",", " ")


# ----------------------------------------------------------------------------- mapping
# Why a row is not a record (replay reports count these).
DROP_REASONS = ("not a call", "archived copy", "language copy", "no identifier", "duplicate",
                "programme out of scope", "no hub topic", "for individuals only", "invalid")


def map_row(res: dict[str, Any], now: datetime) -> tuple[InstrumentRecord | None, str | None]:
    """(record, None), or (None, one of DROP_REASONS). The portal's status flag is kept as
    `external_status`; whether the call is open is derived from its dates elsewhere."""
    if not isinstance(res, dict):
        return None, "invalid"
    md = res.get("metadata") or {}
    if not isinstance(md, dict):
        return None, "invalid"
    kind = str(_one(md, "type") or "1")
    if kind not in RESULT_TYPES:
        return None, "not a call"
    if str(_one(md, "DATASOURCE") or DATASOURCE) != DATASOURCE:
        return None, "archived copy"
    lang = str(res.get("language") or _one(md, "language") or LANGUAGE)
    if lang != LANGUAGE:
        return None, "language copy"
    ident = str(_one(md, "identifier") or _one(md, "callIdentifier") or "").strip()
    if not ident or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,199}$", ident):
        return None, "no identifier"
    programme, in_scope = programme_of(ident, md)
    if not in_scope:
        return None, "programme out of scope"
    try:
        if kind == CASCADE_TYPE:
            record = _cascade(res, md, ident, programme, now)
        else:
            record = _topic(res, md, ident, programme, now)
    except ValueError as exc:        # pydantic's ValidationError is a ValueError
        log.warning("skipping portal row %s: %s", ident, str(exc).splitlines()[0])
        return None, "invalid"
    if record is None:
        return None, "no identifier"
    if not record.themes:
        return None, "no hub topic"
    if kind == CASCADE_TYPE and INDIVIDUAL_WORDS & set(
            re.findall(r"[a-z]+", f"{record.title} {(record.summary or '')[:300]}".lower())):
        return None, "for individuals only"
    return record, None


def map_result(res: dict[str, Any], topic_id: str | None = None, now: datetime | None = None
               ) -> InstrumentRecord | None:
    """A portal row as a funding record, or None (see map_row for why). `topic_id` (the hub
    topic a caller searched for) is not used for tagging: the service splits query text into
    words, so the record's own text decides its topics."""
    return map_row(res, now or datetime.now(timezone.utc))[0]


def _themes(*texts: str) -> list[str]:
    return [t.id for t in topics.find_in_text(" ".join(x for x in texts if x)[:4000])]


def _status(md: dict[str, Any], acts: list[dict[str, Any]]) -> str | None:
    for a in acts:
        st = a.get("status")
        code = str(st.get("id") if isinstance(st, dict) else st or "")
        if code in STATUS_CODES:
            return STATUS_CODES[code]
    return STATUS_CODES.get(str(_one(md, "status") or ""))


def _topic(res, md, ident, programme, now) -> InstrumentRecord | None:
    acts = _actions(md)
    b = budget_of(md, ident)
    proc = next((a["submissionProcedure"].get("abbreviation") for a in acts
                 if isinstance(a.get("submissionProcedure"), dict)), None)
    own_model = next((a.get("deadlineModel") for a in b.own if a.get("deadlineModel")), None)
    model = DEADLINE_MODELS.get(str(proc or _one(md, "deadlineModel") or own_model or "").strip().lower(), "single")
    days = [d for a in acts for d in (a.get("deadlineDates") or []) if isinstance(a.get("deadlineDates"), list)]
    if not days:
        days = [d for a in b.own for d in (a.get("deadlineDates") or []) if isinstance(a.get("deadlineDates"), list)]
    deadlines, model, assumed = _deadlines(days, _strings(md, "deadlineDate"), model)
    opening = next((a.get("plannedOpeningDate") for a in acts if a.get("plannedOpeningDate")), None)
    opens = portal_moment(opening) or portal_moment(_one(md, "startDate"))
    title = html_to_text(_one(md, "title") or res.get("summary") or res.get("title") or ident)[:500]
    call_id = str(_one(md, "callIdentifier") or "").strip()
    call_title = html_to_text(_one(md, "callTitle"))
    description = html_to_text(_one(md, "descriptionByte") or _one(md, "description"))
    call = []
    if call_id or call_title:
        head = f"Call {call_id}" if call_id else "Call"
        if call_title and call_title != call_id:
            head += f" ({call_title})"
        call.append(head)
    if b.call_total:
        pool = (f"{_eur(b.call_total)} for the whole call, shared by its {b.call_topics} topics" if b.shared_pool
                else f"{_eur(b.call_total)} for the call's {b.call_topics} topics" if b.call_topics > 1 else None)
        if pool:
            call.append(pool)
    summary = (": ".join(call[:1]) + (", " + call[1] if len(call) > 1 else "") + ". " if call else "") + description
    url = TOPIC_PAGE.format(id=ident)
    keywords = " ".join(_strings(md, "keywords") + _strings(md, "tags"))
    note = ("The portal gives deadline days only: 17:00 Brussels time is its usual hour; check the topic page."
            if assumed else None)
    record = {
        "id": record_id(ident), "title": title if len(title) >= 3 else ident, "programme": programme,
        "identifier": ident, "kind": "grant", "level": "eu", "managing_body": "European Commission",
        "themes": _themes(title, keywords, call_title, description),
        "eligible_applicants": TOPIC_APPLICANTS, "consortium_rule": CONSORTIUM_NOTE,
        "budget_total_eur": b.topic_total, "grant_min_eur": b.grant_min, "grant_max_eur": b.grant_max,
        "opens_on": opens[0] if opens else None, "deadline_model": model, "deadlines": deadlines,
        "deadline_note": note, "summary": _cut(summary.strip(), 1500) or None, "url": url,
        "source": f"EU Funding & Tenders portal, topic {ident}: {url}",
        "last_checked": now.date(), "checked_by": CHECKED_BY, "origin": "eu-ft", "external_id": ident,
        "external_status": _status(md, acts), "last_seen_at": now, "stale": False,
    }
    return InstrumentRecord.model_validate(record)


def _cascade(res, md, ident, programme, now) -> InstrumentRecord | None:
    number = cascade_number(res)
    if not number:
        return None
    model = DEADLINE_MODELS.get(str(_one(md, "deadlineModel") or "").strip().lower(), "single")
    deadlines, model, assumed = _deadlines([], _strings(md, "deadlineDate"), model)
    opens = portal_moment(_one(md, "startDate"))
    title = html_to_text(_one(md, "callTitle") or res.get("summary") or _one(md, "title"))[:500]
    acronym = html_to_text(_one(md, "projectAcronym"))
    project = html_to_text(_one(md, "projectName"))
    parent = html_to_text(_one(md, "title"))
    description = html_to_text(_one(md, "description"))
    head = (f"Cascade funding (financial support to third parties) from the EU-funded project "
            f"{acronym or project or '?'} under topic {ident}" + (f" ({parent})" if parent else "") + ". ")
    url = str(res.get("url") or "").strip()
    if not re.match(r"^https://\S+$", url):
        url = TOPIC_PAGE.format(id=ident)
    body = " ".join(x for x in (title, parent, project, description) if x)
    record = {
        "id": record_id(f"cascade-{number}"), "title": title if len(title) >= 3 else f"{ident} call {number}",
        "programme": f"{programme} (cascade funding)", "identifier": ident, "kind": "grant", "level": "eu",
        "managing_body": _cut(f"{acronym} project" + (f" ({project})" if project else ""), 300) if acronym or project
        else None,
        "themes": _themes(body), "eligible_applicants": [],
        "budget_total_eur": _money(_one(md, "budget")),
        "opens_on": opens[0] if opens else None, "deadline_model": model, "deadlines": deadlines,
        "deadline_note": ("Times as the portal gives them, shown in Brussels time." if not assumed else
                          "The portal gives deadline days only: check the call page for the hour."),
        "summary": _cut((head + description).strip(), 1500), "url": url,
        "source": f"EU Funding & Tenders portal, cascade call {number} under topic {ident}: {url}",
        "last_checked": now.date(), "checked_by": CHECKED_BY, "origin": "eu-ft",
        "external_id": f"cascade-call-{number}", "external_status": STATUS_CODES.get(str(_one(md, "status") or "")),
        "last_seen_at": now, "stale": False,
    }
    return InstrumentRecord.model_validate(record)


@dataclass
class Mapped:
    records: dict[str, InstrumentRecord] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)


def map_rows(rows: list[dict[str, Any]], now: datetime) -> Mapped:
    """Every row mapped, in order; a record id seen before (another language copy that got
    through, a repeated row) is dropped as a duplicate."""
    out = Mapped()
    for res in rows:
        rec, why = map_row(res, now)
        if rec is None:
            out.dropped[why] += 1
        elif rec.id in out.records:
            out.dropped["duplicate"] += 1
        else:
            out.records[rec.id] = rec
    return out
