"""Relevance of the Funding Lane search, judged on the top 3 of what people type first:
named instruments, one- and two-word Dutch/English topic words, plain deadline questions,
capability questions and nonsense. Prints the hit rate; fails under THRESHOLD.
Also: open/forthcoming/continuous instruments come before closed ones among topical results."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.funding.records import status_of
from storage.funding.models import FundingInstrument
from support.funding_env import NOW, FundingChat, funding_services, all_result_ids, result_ids

THRESHOLD = 0.95
# Measured 65/68 on main at 522131a (the three housing queries listed DUMAVA, which names housing only
# inside compounds, third) and 68/68 on h3/search3: the floor is the measured figure.
THRESHOLD = 1.0


@dataclass(frozen=True)
class Topical:
    """Every one of the top 3 (or all results, if fewer topical instruments exist) has one of `themes`,
    and the first is dedicated to them (at most three themes), not a broad programme that lists many."""
    themes: frozenset[str]

    def __init__(self, *themes: str):
        object.__setattr__(self, "themes", frozenset(themes))


class Deadline:
    """A time question: answered in ONE message that used !deadlines or a time/open filter."""


class Capability:
    """Small talk or 'what can you do': one message that points to funding and labs."""


class Nothing:
    """Nonsense: no results, a 'nothing found' answer."""


@dataclass(frozen=True)
class Record:
    id: str


CASES = [
    # Dutch, named and topical
    ("!funding klimaatadaptatie", {"rotterdam-subsidie-klimaatadaptatie", "zuid-holland-klimaatadaptatie",
                                   "noord-holland-klimaatadaptatie-gemeenten", "impulsregeling-klimaatadaptatie"}),
    ("!subsidie hittestress", {"rotterdam-subsidie-klimaatadaptatie", "impulsregeling-klimaatadaptatie",
                               "horizon-mission-adaptation-2026"}),
    ("!subsidie circulaire economie", {"life-circular-economy-2026"}),
    ("!subsidie bodem", {"horizon-mission-soil-2027"}),
    ("!subsidie biodiversiteit natuurherstel", {"life-nature-biodiversity-2026", "horizon-mission-soil-2027"}),
    ("!subsidie woningbouw", {"woningbouwimpuls"}),
    ("!subsidie energietransitie", {"life-clean-energy-transition-renovation-2026"}),
    ("!subsidie fietsen en openbaar vervoer", {"horizon-cl5-mobility-for-all-2027", "cef-transport-2026"}),
    ("!subsidie interreg noordzee", {"interreg-north-sea"}),
    ("!subsidie innovatiebudget digitale overheid", {"innovatiebudget-digitale-overheid"}),
    ("!subsidie efro kansen voor west", {"efro-kansen-voor-west-3"}),
    ("is er subsidie voor klimaatadaptatie voor gemeenten?", {"noord-holland-klimaatadaptatie-gemeenten",
                                                              "impulsregeling-klimaatadaptatie"}),
    ("welke subsidie is er voor digitale dienstverlening?", {"innovatiebudget-digitale-overheid",
                                                            "digital-europe-connected-public-administrations-2026"}),
    ("is er geld voor leefbaarheid in Limburg?", {"limburg-leefbaarheidsfonds"}),
    ("welke Europese subsidie is er voor mobiliteit?", {"horizon-cl5-mobility-for-all-2027", "cef-transport-2026"}),
    # English, named and topical
    ("!funding climate adaptation", {"rotterdam-subsidie-klimaatadaptatie", "life-climate-adaptation-2026",
                                     "horizon-mission-adaptation-2026", "utrecht-groene-gezonde-klimaatbestendige-steden"}),
    ("!funding adapting to heat", {"rotterdam-subsidie-klimaatadaptatie", "utrecht-groene-gezonde-klimaatbestendige-steden"}),
    ("!funding circular economy", {"life-circular-economy-2026"}),
    ("!funding local digital twins", {"digital-europe-local-digital-twins-2024"}),
    ("!funding soil health living labs", {"horizon-mission-soil-2027"}),
    ("!funding housing construction", {"woningbouwimpuls"}),
    ("!funding renovation of public buildings", {"dumava-2025"}),
    ("!funding transport poverty", {"horizon-cl5-mobility-for-all-2027"}),
    ("!funding startup in residence", {"startup-in-residence-intergov"}),
    ("!funding sbir", {"sbir-innovatiecompetitie"}),
    ("!funding urban initiative", {"eui-innovative-actions-call-4"}),
    ("!funding cities mission", {"horizon-mission-cities-2026"}),
    ("which EU funding is there for biodiversity in provinces?", {"life-nature-biodiversity-2026",
                                                                  "horizon-mission-soil-2027"}),
    ("any grants for circular economy for SMEs?", {"life-circular-economy-2026"}),
    ("is there funding for connecting public administrations?", {"digital-europe-connected-public-administrations-2026"}),
    # What people type first: one or two words (the top 3 must all be on topic)
    ("!funding klimaat", Topical("climate-adaptation", "climate-neutral-cities")),
    ("!subsidie energie", Topical("energy-transition")),
    ("!subsidie water", Topical("climate-adaptation", "soil-biodiversity")),
    ("!subsidie wonen", Topical("housing")),
    ("!subsidie mobiliteit", Topical("mobility")),
    ("!subsidie circulair", Topical("circular-economy")),
    ("!subsidie natuur", Topical("soil-biodiversity")),
    ("!subsidie digitaal", Topical("data-digital-twins", "public-services", "digital-inclusion")),
    ("!subsidie klimaat gemeenten", Topical("climate-adaptation", "climate-neutral-cities")),
    ("!subsidie energie gemeenten", Topical("energy-transition")),
    ("!funding climate", Topical("climate-adaptation", "climate-neutral-cities")),
    ("!funding energy", Topical("energy-transition")),
    ("!funding housing", Topical("housing")),
    ("!funding mobility", Topical("mobility")),
    ("!funding water", Topical("climate-adaptation", "soil-biodiversity")),
    ("!funding digital twins", Topical("data-digital-twins")),
    ("subsidie klimaat", Topical("climate-adaptation", "climate-neutral-cities")),
    ("subsidie voor energie", Topical("energy-transition")),
    ("grants for housing", Topical("housing")),
    # Plain deadline questions, both languages
    ("welke subsidies sluiten binnenkort?", Deadline()),
    ("welke deadlines zijn er deze maand?", Deadline()),
    ("welke subsidies sluiten dit jaar?", Deadline()),
    ("welke subsidies zijn nu open?", Deadline()),
    ("subsidies voor klimaat die voor de zomer sluiten", Deadline()),
    ("what grants close in the next two months?", Deadline()),
    ("which deadlines are coming up?", Deadline()),
    ("funding closing before March", Deadline()),
    ("which grants are open now?", Deadline()),
    # Capability questions and small talk
    ("wat kun je?", Capability()),
    ("what can you do?", Capability()),
    ("hoi", Capability()),
    ("hallo", Capability()),
    ("vertel me meer over DUMAVA", Record("dumava-2026")),   # two rounds: the latest
    ("tell me more about SBIR", Record("sbir-innovatiecompetitie")),
    # Nonsense
    ("!funding <script>alert(1)</script>", Nothing()),
    ("!funding '; DROP TABLE funding_instruments; --", Nothing()),
    ("!funding 1", Nothing()),
    ("!funding qwxz blorft", Nothing()),
]


def _themes(rows, ids):
    return [set(rows[i].themes or ()) for i in ids]


def judge(check, replies, rows) -> tuple[bool, list[str]]:
    text = "\n\n".join(o.markdown for o in replies)
    ids = result_ids(text)
    text = text.replace("\\", "")
    top = ids[:3]
    if isinstance(check, set):
        return bool(check & set(top)), top
    if isinstance(check, Topical):
        available = sum(1 for r in rows.values() if check.themes & set(r.themes or ()))
        need = min(3, available)
        ok = (len(top) >= need and all(check.themes & t for t in _themes(rows, top[:need]))
              and len(rows[top[0]].themes or ()) <= 3)
        return ok, top
    if isinstance(check, Deadline):
        used = any(s in text for s in ("deadlines", "--closing-within", "--open", "sluitingsdata", "--nu-open",
                                       "--sluit-binnen", "deadline within", "deadline binnen"))
        return len(replies) == 1 and used and "did not understand" not in text, top
    if isinstance(check, Capability):
        low = text.lower()
        return (len(replies) == 1 and ("funding" in low or "subsidie" in low) and ("labs" in low or "proeftuin" in low)
                and "did not understand" not in text and not ids), top
    if isinstance(check, Record):
        return len(replies) == 1 and f"ID: {check.id}" in text, top
    if isinstance(check, Nothing):
        return not ids, top
    raise TypeError(check)


async def test_relevance_hit_rate(tmp_path, report_figure):
    services = await funding_services(tmp_path, modules=None)   # every capability, as deployed
    chat = FundingChat(services)
    hits, misses = 0, []
    try:
        async with services.db.session() as s:
            rows = {r.id: r for r in (await s.scalars(select(FundingInstrument))).all()}
        for query, expected in CASES:
            ok, top = judge(expected, await chat.send(query), rows)
            if ok:
                hits += 1
            else:
                misses.append((query, top))
    finally:
        await services.db.dispose()
    rate = hits / len(CASES)
    report_figure(f"funding relevance: {hits}/{len(CASES)} queries answered well in the top 3 "
                  f"= {rate:.0%}")
    for q, top in misses:
        print(f"  miss: {q!r} -> {top}")
    assert len(CASES) >= 60
    assert rate >= THRESHOLD, misses


OPEN_FIRST = {
    "!funding klimaat": {"climate-adaptation", "climate-neutral-cities"},
    "!subsidie klimaatadaptatie": {"climate-adaptation"},
    "!funding climate adaptation": {"climate-adaptation"},
    "!subsidie energie": {"energy-transition"},
    "!funding energy": {"energy-transition"},
    "!subsidie wonen": {"housing"},
    "!funding circular economy": {"circular-economy"},
    "!subsidie digitale overheid": {"public-services"},
    "!funding mobility": {"mobility"},
}


async def test_open_before_closed_among_topical_results(tmp_path):
    services = await funding_services(tmp_path)
    chat = FundingChat(services)
    both = 0
    try:
        async with services.db.session() as s:
            rows = {r.id: r for r in (await s.scalars(select(FundingInstrument))).all()}
        for query, wanted in OPEN_FIRST.items():
            ids = await all_result_ids(chat, query)
            # About the topic = the topic is at least one of at most three themes; a broad
            # scheme listing many themes is not, and must not come before one that is.
            about = [i for i in ids if wanted & set(rows[i].themes or ()) and len(rows[i].themes) <= 3]
            # Closed to newcomers: closed, or a later stage by invitation only.
            closed = [status_of(rows[i], NOW) in ("closed", "invitation_only") for i in about]
            if True in closed and False in closed:
                both += 1
                first_closed = closed.index(True)
                assert all(closed[first_closed:]), (query, about, closed)
            broad_open = [i for i in ids if len(rows[i].themes or ()) > 3 and status_of(rows[i], NOW) != "closed"]
            if about and broad_open:
                assert ids.index(about[0]) < ids.index(broad_open[0]), (query, ids)
    finally:
        await services.db.dispose()
    assert both >= 3   # the check was exercised on queries with open and closed matches
