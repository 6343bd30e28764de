"""Relevance of the Funding Lane search: for each query (half Dutch, half English, some
plain questions) at least one of the named instruments must be in the top 3.
Prints the hit rate; fails under THRESHOLD."""
from __future__ import annotations


from support.funding_env import FundingChat, funding_services, result_ids

THRESHOLD = 0.9

CASES = [
    # Dutch
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
    # English
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
]


async def test_relevance_hit_rate(tmp_path, report_figure):
    services = await funding_services(tmp_path)
    chat = FundingChat(services)
    hits, misses = 0, []
    try:
        for query, expected in CASES:
            top = result_ids(await chat.text(query))[:3]
            if expected & set(top):
                hits += 1
            else:
                misses.append((query, top))
    finally:
        await services.db.dispose()
    rate = hits / len(CASES)
    report_figure(f"funding relevance: {hits}/{len(CASES)} queries have an expected instrument in the top 3 "
                  f"= {rate:.0%}")
    for q, top in misses:
        print(f"  miss: {q!r} -> {top}")
    assert len(CASES) >= 25
    assert rate >= THRESHOLD, misses
