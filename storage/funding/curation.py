"""Who last checked a funding record, and how: the curation loop's rules in one place.

`last_checked` / `checked_by` are set only by
- a refresh that saw the record in its source (`checked_by` is that source's marker, e.g.
  storage.funding.eu_portal.CHECKED_BY), or
- a facilitator's `!funding verify <id>` (or `!funding accept <n>`): `checked_by` is their
  Matrix ID.
Anything else in `checked_by` (the bundled file's "DSIH bot maintainers (…)") is a batch date
nobody has confirmed since: it reads "not checked since <date>"."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from storage.funding.models import FundingInstrument

# checked_by markers of refreshes -> the source's key (shown as "the EU portal", …).
REFRESH_MARKERS = {"eu-ft refresh": "eu-ft", "refresh eu-ft": "eu-ft"}
FORMER = "former-member:"


def check_kind(row) -> tuple[str, str | None]:
    """("source", source key) | ("hand", None) | ("batch", None) | ("never", None)."""
    who = (getattr(row, "checked_by", None) or "").strip()
    if row.last_checked is None:
        return "never", None
    for marker, source in REFRESH_MARKERS.items():
        if who.lower().startswith(marker):
            return "source", source
    if who.startswith("@") or who.startswith(FORMER):
        return "hand", None
    return "batch", None


class CorrectionError(ValueError):
    """A correction list that cannot be read: `reason` is a message id with `params`."""

    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason, self.params = reason, params


def parse_corrections(raw: str | None, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """`deadlines "2027-03-31 17:00" grant_max_eur 50000 level provincial` -> pairs. A word that
    is a field name starts a new pair; the words up to the next field name are its value
    (quote a value that contains a field name). Dashes in field names are accepted."""
    raw = (raw or "").strip()
    if not raw:
        return []
    try:
        words = shlex.split(raw)
    except ValueError:
        raise CorrectionError("A quote is not closed: {text}", text=raw[:80]) from None
    pairs: list[list] = []
    for w in words:
        key = w.lower().replace("-", "_")
        if key in fields and (not pairs or pairs[-1][1]):
            pairs.append([key, []])
        elif not pairs:
            raise CorrectionError("{value} is not a field I can change. Fields: {fields}.", value=w[:40],
                                  fields=", ".join(fields))
        else:
            pairs[-1][1].append(w)
    out = []
    for key, value in pairs:
        if not value:
            raise CorrectionError("Give a value after {field} (none to clear it).", field=key)
        out.append((key, " ".join(value)))
    return out


@dataclass
class SourceFreshness:
    source: str                 # origin: bundled, eu-ft, import, chat
    count: int
    by_source: int              # last check by a refresh that saw it
    by_hand: int                # last check by a facilitator
    unconfirmed: int            # a batch date nobody confirmed, or never checked
    gone: int                   # no longer in its source
    oldest: date | None


async def freshness(session) -> list[SourceFreshness]:
    rows = (await session.execute(select(FundingInstrument.origin, FundingInstrument.last_checked,
                                         FundingInstrument.checked_by, FundingInstrument.stale))).all()
    by: dict[str, SourceFreshness] = {}
    for origin, checked, who, stale in rows:
        f = by.setdefault(origin or "bundled", SourceFreshness(origin or "bundled", 0, 0, 0, 0, 0, None))
        f.count += 1
        kind, _ = check_kind(_Row(checked, who))
        f.by_source += kind == "source"
        f.by_hand += kind == "hand"
        f.unconfirmed += kind in ("batch", "never")
        f.gone += bool(stale)
        if checked and (f.oldest is None or checked < f.oldest):
            f.oldest = checked
    return sorted(by.values(), key=lambda f: (-f.count, f.source))


@dataclass
class _Row:
    last_checked: date | None
    checked_by: str | None


def stale_order(row) -> tuple:
    """Gone from the source first, then never checked, then the oldest check."""
    return (not bool(row.stale), row.last_checked is not None, row.last_checked or date.min, row.id)




def today_in(tz, now: datetime) -> date:
    return now.astimezone(tz).date()
