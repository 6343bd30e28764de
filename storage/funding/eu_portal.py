"""The EU Funding & Tenders portal's public search API (SEDIA), for
`dsih-bot refresh funding --source eu-ft`: fetch the open and forthcoming call topics that
match the hub's topics and map each to a funding record.

The portal's own front end uses this API with the public key `SEDIA`:
POST {url}?apiKey=SEDIA&text=…&pageSize=…&pageNumber=… with a multipart form whose parts
`query`, `languages` and `sort` are JSON. Every metadata value in a result is a list, and
`budgetOverview` is a JSON string inside that list. Status codes: 31094501 forthcoming,
31094502 open, 31094503 closed. Nothing here runs at start-up; tests replay hand-made
responses in that format (tests/data/eu_ft/) from a local server."""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import aiohttp

from storage import topics
from storage.funding.records import InstrumentRecord

log = logging.getLogger(__name__)

STATUS_CODES = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
LIVE_STATUS_CODES = ["31094501", "31094502"]
# 1 and 2: topics of calls for proposals; 8: cascade-funding calls of funded projects.
RESULT_TYPES = ["1", "2", "8"]
TOPIC_PAGE = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/{id}"
PROGRAMMES = {"HORIZON": "Horizon Europe", "DIGITAL": "Digital Europe Programme", "LIFE": "LIFE",
              "CEF": "Connecting Europe Facility", "ERASMUS": "Erasmus+", "CERV": "CERV", "EU4H": "EU4Health",
              "SMP": "Single Market Programme", "CREA": "Creative Europe", "INTERREG": "Interreg",
              "EUI": "European Urban Initiative", "RESTORE": "Horizon Europe (Mission Ocean)"}
DEADLINE_MODELS = {"single-stage": "single", "two-stage": "two_stage", "multiple cut-off": "multiple_cutoffs",
                   "multiple-cut-off": "multiple_cutoffs", "continuous": "continuous"}
CHECKED_BY = "eu-ft refresh (EU Funding & Tenders portal, automatic)"


class PortalError(Exception):
    """The portal could not be read (network, HTTP status, unexpected body); nothing is changed."""


@dataclass
class PortalClient:
    url: str
    api_key: str = "SEDIA"
    page_size: int = 50
    max_pages: int = 10
    timeout: float = 60.0
    requests: int = field(default=0, init=False)

    async def search(self, session: aiohttp.ClientSession, text: str) -> list[dict[str, Any]]:
        """All live (open or forthcoming) results for `text`, page by page."""
        out: list[dict[str, Any]] = []
        for page in range(1, self.max_pages + 1):
            body = await self._page(session, text, page)
            results = body.get("results") or []
            if not isinstance(results, list):
                raise PortalError("unexpected response: `results` is not a list")
            out.extend(r for r in results if isinstance(r, dict))
            total = body.get("totalResults") or 0
            if not results or page * self.page_size >= total:
                break
        return out

    async def _page(self, session: aiohttp.ClientSession, text: str, page: int) -> dict[str, Any]:
        form = aiohttp.FormData()
        query = {"bool": {"must": [{"terms": {"type": RESULT_TYPES}},
                                   {"terms": {"status": LIVE_STATUS_CODES}}]}}
        form.add_field("query", json.dumps(query), content_type="application/json", filename="blob")
        form.add_field("languages", json.dumps(["en"]), content_type="application/json", filename="blob")
        form.add_field("sort", json.dumps({"field": "sortStatus", "order": "ASC"}),
                       content_type="application/json", filename="blob")
        params = {"apiKey": self.api_key, "text": text, "pageSize": str(self.page_size), "pageNumber": str(page)}
        self.requests += 1
        try:
            async with session.post(self.url, params=params, data=form,
                                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    raise PortalError(f"the portal answered HTTP {resp.status} for {text!r} page {page}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PortalError(f"cannot read the portal ({type(exc).__name__}: {exc})") from None
        if not isinstance(body, dict):
            raise PortalError("unexpected response: not a JSON object")
        return body


def topic_queries() -> list[tuple[str, str]]:
    """(topic id, search text) per hub topic: its English label and first English aliases."""
    out = []
    for t in topics.all_topics():
        terms = list(dict.fromkeys([t.en, *t.aliases_en[:2]]))
        out.append((t.id, " OR ".join(f'"{x}"' for x in terms)))
    return out


async def fetch_live(client: PortalClient, progress=None) -> list[tuple[str, dict[str, Any]]]:
    """(hub topic id, raw result) for every live result of every topic query, in order.
    `progress(n, total)` (bot.progress) hears of each topic query done."""
    found: list[tuple[str, dict[str, Any]]] = []
    queries = list(topic_queries())
    if progress:
        progress(0, len(queries))
    async with aiohttp.ClientSession(headers={"Accept": "application/json"}) as session:
        for topic_id, text in queries:
            for res in await client.search(session, text):
                found.append((topic_id, res))
            if progress:
                progress(1)
    return found


# ----------------------------------------------------------------------------- mapping
def _one(md: dict[str, Any], key: str) -> Any:
    v = md.get(key)
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _day(value: Any) -> date | None:
    """The calendar day of a portal date ("2026-09-17T00:00:00.000+0200", "2026-09-17", "17 September 2026")."""
    if not value:
        return None
    s = str(value).strip()
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", s)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return datetime.strptime(s, "%d %B %Y").date()
    except ValueError:
        return None


def _budget(md: dict[str, Any]) -> dict[str, Any]:
    raw = _one(md, "budgetOverview")
    if not raw:
        return {}
    try:
        blob = json.loads(raw) if isinstance(raw, str) else raw
    except (json.JSONDecodeError, TypeError):
        return {}
    topic_map = blob.get("budgetTopicActionMap") if isinstance(blob, dict) else None
    actions = [a for entries in (topic_map.values() if isinstance(topic_map, dict) else []) if isinstance(entries, list)
               for a in entries if isinstance(a, dict)]
    if not actions:
        return {}
    total = 0
    for a in actions:
        years = a.get("budgetYearMap")
        for v in (years.values() if isinstance(years, dict) else []):
            try:
                total += int(float(v))
            except (TypeError, ValueError, OverflowError):
                pass
    first = actions[0]

    def money(key):
        try:
            v = int(float(first.get(key) or 0))
        except (TypeError, ValueError, OverflowError):
            return None
        return v if v > 0 else None

    return {"total": total or None, "min": money("minContribution"), "max": money("maxContribution"),
            "model": first.get("deadlineModel"),
            "dates": list(first["deadlineDates"]) if isinstance(first.get("deadlineDates"), list) else [],
            "opening": first.get("plannedOpeningDate")}


def _text(value: Any) -> str:
    s = re.sub(r"<[^>]+>", " ", str(value or ""))
    return re.sub(r"\s+", " ", html.unescape(s)).strip()


def record_id(identifier: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", identifier.lower()).strip("-")
    return ("euft-" + slug)[:119].rstrip("-")


def map_result(res: dict[str, Any], topic_id: str | None, now: datetime) -> InstrumentRecord | None:
    """A portal result as a funding record (None when it has no identifier, is not live or
    does not validate)."""
    md = res.get("metadata") or {}
    ident = str(_one(md, "identifier") or _one(md, "callIdentifier") or "").strip()
    if not ident or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,199}$", ident):
        return None
    status = STATUS_CODES.get(str(_one(md, "status") or ""))
    if status not in ("open", "forthcoming"):
        return None
    title = _text(_one(md, "title") or res.get("title") or ident)[:500]
    b = _budget(md)
    model = DEADLINE_MODELS.get(str(b.get("model") or _one(md, "deadlineModel") or "").lower(), "single")
    raw_dates = b.get("dates") or md.get("deadlineDate") or []
    if not isinstance(raw_dates, (list, tuple)):   # the portal's shapes vary; one value or odd types
        raw_dates = [raw_dates] if isinstance(raw_dates, str) else []
    days = sorted({d for d in (_day(x) for x in raw_dates) if d})
    if model == "single" and len(days) > 1 or model == "two_stage" and len(days) > 2:
        model = "multiple_cutoffs"
    label = {"two_stage": ["stage 1", "stage 2"], "multiple_cutoffs": ["cut-off"] * len(days)}.get(model, ["deadline"])
    deadlines = [{"at": f"{d.isoformat()}T17:00:00", "tz": "Europe/Brussels", "label": label[min(n, len(label) - 1)]}
                 for n, d in enumerate(days)]
    prefix = ident.split("-")[0].upper()
    call_title = _text(_one(md, "callTitle"))
    summary = _text(_one(md, "descriptionByte") or res.get("summary") or res.get("content"))
    if len(summary) > 1200:
        summary = summary[:1200].rsplit(" ", 1)[0] + " …"
    found = [t.id for t in topics.find_in_text(f"{title} {call_title} {summary[:2000]}")]
    themes = list(dict.fromkeys(([topic_id] if topic_id else []) + found))
    url = TOPIC_PAGE.format(id=ident)
    record = {
        "id": record_id(ident), "title": title, "programme": PROGRAMMES.get(prefix, prefix.title()),
        "identifier": ident, "kind": "grant", "level": "eu", "managing_body": "European Commission",
        "themes": themes, "eligible_applicants": [],
        "consortium_rule": (f"Call: {call_title[:1500]}" if call_title else None),
        "budget_total_eur": b.get("total"), "grant_min_eur": b.get("min"), "grant_max_eur": b.get("max"),
        "opens_on": _day(_one(md, "startDate")) or _day(b.get("opening")),
        "deadline_model": model, "deadlines": deadlines,
        "deadline_note": "Deadline time set to 17:00 Brussels time, the portal's usual hour; check the topic page."
                         if deadlines else None,
        "summary": summary or None, "url": url,
        "source": f"EU Funding & Tenders portal, topic {ident}: {url}",
        "last_checked": now.date(), "checked_by": CHECKED_BY, "origin": "eu-ft", "external_id": ident,
        "external_status": status, "last_seen_at": now, "stale": False,
    }
    if record["grant_min_eur"] and record["grant_max_eur"] and record["grant_min_eur"] > record["grant_max_eur"]:
        record["grant_min_eur"], record["grant_max_eur"] = record["grant_max_eur"], record["grant_min_eur"]
    try:
        return InstrumentRecord.model_validate(record)
    except ValueError as exc:
        log.warning("skipping portal topic %s: %s", ident, str(exc).splitlines()[0])
        return None
