"""Relevance of `!knowledge` on the bundled items: short, sloppy queries in Dutch and
English as civil servants type them, each with the item a person would want in the top 3.
The hit rate is printed in the run's figures."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from commands.knowledge.commands import find
from storage.knowledge.models import KnowledgeItem
from support.chat import make_services

# (query, a title prefix that must be among the top 3 | a tuple of prefixes every one of the top 3 must have)
ROTTERDAM_TWIN = ("Rotterdam Citiverse", "Safe 3D", "Best practice: Rotterdam", "De digital twin als driver",
                  "Reimagining the digital city")
RELEVANCE = [
    ("stresstest", "Klimaatstresstest"),
    ("wat na de stresstest", "Help! De stresstest"),
    ("hittestress kaart", "Stresstesten in kaart"),
    ("heat stress map", "Stresstesten in kaart"),
    ("klimaateffectatlas", "Hoe is de Klimaateffectatlas"),
    ("digital twin environmental permit", "Best practice: Rotterdam Digital City"),
    ("digital twin rotterdam", ROTTERDAM_TWIN),
    ("digitale tweeling veiligheid", "Safe 3D"),
    ("circulair bouwen leidraad", "Platform CB'23: guidelines"),
    ("circular construction", "Platform CB'23: guidelines"),
    ("common ground", "Common Ground: bouwen op dezelfde basis"),
    ("luchtkwaliteit fiets", "Snuffelfiets: fietsers meten"),
    ("air quality sensors citizens", "Samen meten aan luchtkwaliteit"),
    ("innovatiebudget", "Innovatiebudget Digitale Overheid"),
    ("dsih subsidie europese commissie", "Europese subsidie voor eerste"),
    ("edih public sector webinar", "Webinars on Digital Innovation Hubs"),
    ("public services lab heerlen", "Public Services Lab"),
    ("digicampus", "Digicampus accelerates"),
    ("gezond stedelijk leven", "Data- en Kennishub Gezond Stedelijk Leven"),
    ("pilots opschalen", "Reimagining the digital city"),
    ("provincies digitale agenda", "Interprovinciale Digitale Agenda"),
]


@pytest.fixture
async def services(tmp_path):
    svc = await make_services(tmp_path / "data", modules=["core", "knowledge"], load_sample_data=True)
    yield svc
    await svc.db.dispose()


class _Ctx:
    def __init__(self, services, session, lang):
        self.db, self.lang, self.services = session, lang, services
        self.now = services.clock()


async def test_relevance_set_hit_rate(services, report_figure):
    misses, hits = [], 0
    async with services.db.session() as s:
        for query, expected in RELEVANCE:
            top = [i.title for i in (await find(_Ctx(services, s, "nl"), query, None, None))[:3]]
            ok = (all(t.startswith(expected) for t in top) and len(top) == 3) if isinstance(expected, tuple) \
                else any(t.startswith(expected) for t in top)
            if ok:
                hits += 1
            else:
                misses.append((query, expected, top))
    report_figure(f"knowledge relevance: {hits}/{len(RELEVANCE)} queries with the expected item in the top 3 "
                  f"(hit rate {hits / len(RELEVANCE):.0%})")
    for m in misses:
        print("  miss:", m)
    assert hits / len(RELEVANCE) >= 0.85, misses
