"""`dsih-bot refresh funding --source officiele-bekendmakingen`: new Dutch subsidy regulations
from the official journals become candidates (storage.funding.bekendmakingen); a facilitator
accepts one as a funding record (with corrections) or dismisses it.

- A publication already known as a candidate (whatever became of it) is never added twice.
- A failing service, or one that refuses the query, changes nothing.
- Nothing here writes a funding record: `accept_candidate` does, for a facilitator."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Awaitable, Callable

from sqlalchemy import select

from storage.funding.bekendmakingen import SOURCE, Batch, SruClient, fetch_live, to_candidates
from storage.funding.models import FundingCandidate
from storage.models.core import AuditLog


@dataclass
class CandidateReport:
    read: int = 0                       # publications in the answer
    candidates: int = 0                 # of those, subsidy regulations about a topic
    dropped: Counter = field(default_factory=Counter)
    added: list[int] = field(default_factory=list)
    known: int = 0                      # already a candidate before
    complete: bool = True

    def line(self) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        out = (f"{SOURCE}: {self.read} publications read, {self.candidates} subsidy regulations about a topic"
               f"{f' ({sum(self.dropped.values())} dropped: {why})' if self.dropped else ''}: "
               f"{len(self.added)} new candidates, {self.known} already known")
        if not self.complete:
            out += "; more publications than bekendmakingen_max_pages allows: the rest comes next run"
        return out


Fetcher = Callable[[date], Awaitable[Batch]]


def client_from(settings) -> SruClient:
    f = settings.funding
    return SruClient(url=str(f.bekendmakingen_url), page_size=f.bekendmakingen_page_size,
                     max_pages=f.bekendmakingen_max_pages, timeout=f.bekendmakingen_timeout.total_seconds())


async def refresh_bekendmakingen(db, settings, *, now: datetime | None = None, fetch: Fetcher | None = None,
                                 actor: str = "cli") -> CandidateReport:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    since = (now - settings.funding.bekendmakingen_since).date()
    batch = await (fetch or (lambda d: fetch_live(client_from(settings), d)))(since)   # SruError: nothing changed
    found, dropped = to_candidates(batch)
    report = CandidateReport(read=len(batch.publications) + sum(batch.dropped.values()), candidates=len(found),
                             dropped=dropped, complete=batch.complete)
    async with db.transaction() as session:
        known = set((await session.scalars(select(FundingCandidate.external_id).where(
            FundingCandidate.source == SOURCE,
            FundingCandidate.external_id.in_([c.external_id for c in found] or [""])))).all())
        for c in found:
            if c.external_id in known:
                report.known += 1
                continue
            row = FundingCandidate(source=SOURCE, external_id=c.external_id, title=c.title, issuer=c.issuer,
                                   level=c.level, published_on=c.published_on, url=c.url, themes=c.topics,
                                   opens_on=c.opens_on, closes_on=c.closes_on, amount_eur=c.amount_eur,
                                   excerpt=c.excerpt, status="new", found_at=now)
            session.add(row)
            await session.flush()
            report.added.append(row.id)
            known.add(c.external_id)
        session.add(AuditLog(actor=actor, action="funding.refresh", target=SOURCE,
                             detail={"read": report.read, "candidates": report.candidates,
                                     "added": len(report.added), "known": report.known,
                                     "complete": report.complete}, at=now))
    return report


def slug(title: str, published: date | None) -> str:
    """A record id from a candidate's title: "Subsidieregeling Klimaatadaptatie Gelderland 2027"
    -> "subsidieregeling-klimaatadaptatie-gelderland-2027"."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", text)
    base = "-".join(words)[:100].strip("-") or "regeling"
    if published and not re.search(r"\b(19|20)\d\d\b", base.replace("-", " ")):
        base = f"{base}-{published.year}"
    return base if len(base) >= 2 else f"regeling-{base}"


def record_values(c: FundingCandidate, today: date) -> dict:
    """What a candidate says, in the record schema (before a facilitator's corrections)."""
    deadlines = []
    if c.closes_on:
        deadlines = [{"at": f"{c.closes_on.isoformat()}T23:59", "tz": "Europe/Amsterdam", "label": "deadline"}]
    return {"id": slug(c.title, c.published_on), "title": c.title[:500], "kind": "grant", "level": c.level,
            "managing_body": c.issuer, "themes": list(c.themes or []), "opens_on": c.opens_on,
            "deadline_model": "single", "deadlines": deadlines, "budget_total_eur": c.amount_eur,
            "summary": c.excerpt[:5000] if c.excerpt else None, "url": c.url,
            "source": f"{c.url} (official publication {c.external_id})" if c.url else c.external_id,
            "origin": "chat", "external_id": c.external_id}


