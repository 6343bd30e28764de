"""Relevance of living-lab search: Dutch and English queries, with places and provinces;
each names labs that must be in the top 3 (run with -s to see the hit rate). Distance
ordering is checked against the labs' known coordinates."""
from __future__ import annotations

import pytest

from storage.geo import gazetteer, haversine_km
from storage.labs.records import parse_words, search_labs
from storage.labs.models import Lab
from support.labs_env import labs_services

from support.labs_relevance import RELEVANCE  # noqa: E402


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    import asyncio
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(labs_services(tmp_path_factory.mktemp("labs-rel")))
    yield loop, services
    loop.run_until_complete(services.db.dispose())
    loop.close()


def _top(loop, services, text, n=3):
    async def go():
        async with services.db.session() as s:
            q = parse_words(text)
            assert not q.unresolved, (text, q.unresolved)
            return [h.lab.id for h in await search_labs(s, q, limit=n)]
    return loop.run_until_complete(go())


def test_relevance_set_hit_rate(services, report_figure):
    loop, svc = services
    assert len(RELEVANCE) >= 15
    misses = []
    hits = 0
    for text, expected in RELEVANCE:
        top = _top(loop, svc, text)
        if all(e in top for e in expected):
            hits += 1
        else:
            misses.append((text, expected, top))
    rate = hits / len(RELEVANCE)
    report_figure(f"living labs relevance: {hits}/{len(RELEVANCE)} queries with every expected lab in the top 3 "
                  f"(hit rate {rate:.0%})")
    for m in misses:
        print("  miss:", m)
    assert not misses, misses


@pytest.mark.parametrize("place", ["Zwolle", "Heerlen", "Den Haag", "Groningen", "Vlissingen", "Eindhoven"])
def test_distance_ordering_against_known_coordinates(services, place):
    loop, svc = services
    centre = gazetteer().resolve(place).place

    async def go():
        async with svc.db.session() as s:
            q = parse_words(f"near {place}")
            hits = await search_labs(s, q, limit=100)
            labs = (await s.execute(Lab.__table__.select())).all()
            return hits, labs
    hits, labs = loop.run_until_complete(go())
    assert len(hits) == len(labs) == 26
    d = [h.distance_km for h in hits]
    assert d == sorted(d)
    for h in hits:   # the shown distance is the great-circle distance to the lab's stored point
        assert h.distance_km == pytest.approx(haversine_km(centre.latitude, centre.longitude,
                                                           h.lab.latitude, h.lab.longitude))
    nearest = min(labs, key=lambda r: haversine_km(centre.latitude, centre.longitude, r.latitude, r.longitude))
    assert hits[0].distance_km == pytest.approx(
        haversine_km(centre.latitude, centre.longitude, nearest.latitude, nearest.longitude))


def test_known_distances_between_labs(services):
    """Spot checks with coordinates from the data file (town level): Heerlen - Eindhoven
    about 66 km, Delft - Rotterdam about 12 km, Zwolle - Groningen about 85 km."""
    loop, svc = services

    async def go():
        async with svc.db.session() as s:
            return {r.id: r for r in (await s.execute(Lab.__table__.select())).all()}
    labs = loop.run_until_complete(go())

    def dist(a, b):
        return haversine_km(labs[a].latitude, labs[a].longitude, labs[b].latitude, labs[b].longitude)
    assert 60 < dist("public-services-lab-heerlen", "stratumseind-living-lab") < 72
    assert 8 < dist("the-green-village", "rdm-rotterdam") < 16
    assert 78 < dist("living-lab-ruimtelijke-adaptatie-overijssel", "entrance-groningen") < 92


def test_radius_excludes_far_labs(services):
    loop, svc = services

    async def go():
        async with svc.db.session() as s:
            return await search_labs(s, parse_words("energy within 30 km of Rotterdam"), limit=50)
    hits = loop.run_until_complete(go())
    assert hits and all(h.distance_km <= 30 for h in hits)
    assert {"rdm-rotterdam", "the-green-village"} <= {h.lab.id for h in hits}
