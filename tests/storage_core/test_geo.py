"""The gazetteer: place resolution, aliases, prefixes, provinces in both languages,
suggestions for unknown names, ambiguity, and distances against known coordinates."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from storage.geo import Gazetteer, bounding_box, gazetteer, haversine_km, norm


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return gazetteer()


def test_counts_match_the_source_notes(gaz):
    kinds = [p.kind for p in gaz.places]
    assert kinds.count("province") == 12
    assert kinds.count("municipality") == 342
    assert kinds.count("place") >= 1700


@pytest.mark.parametrize("name, expected, province", [
    ("Zwolle", "Zwolle", "Overijssel"),
    ("zwolle", "Zwolle", "Overijssel"),
    ("Den Bosch", "'s-Hertogenbosch", "Noord-Brabant"),
    ("'s-Hertogenbosch", "'s-Hertogenbosch", "Noord-Brabant"),
    ("The Hague", "Den Haag", "Zuid-Holland"),
    ("'s-Gravenhage", "Den Haag", "Zuid-Holland"),
    ("Heerlen", "Heerlen", "Limburg"),
    ("Hengelo", "Hengelo", "Overijssel"),          # the municipality wins over the Gelderland village
    ("Hengelo (Gelderland)", "Hengelo", "Gelderland"),
    ("Hengelo Gelderland", "Hengelo", "Gelderland"),
    ("gemeente Utrecht", "Utrecht", "Utrecht"),
    ("Leeuwarden", "Leeuwarden", "Fryslân"),
    ("Ljouwert", "Leeuwarden", "Fryslân"),
])
def test_resolve_places(gaz, name, expected, province):
    res = gaz.resolve(name)
    assert res.ok, (name, res)
    assert res.place.name == expected and res.place.province == province


def test_point_versus_area(gaz):
    assert gaz.resolve("Utrecht", prefer="point").place.kind == "municipality"
    assert gaz.resolve("Utrecht", prefer="area").place.kind == "province"
    assert gaz.resolve("Limburg").place.kind == "province"


@pytest.mark.parametrize("text, expected", [
    ("Limburg", "Limburg"), ("provincie Limburg", "Limburg"), ("Friesland", "Fryslân"), ("Fryslân", "Fryslân"),
    ("North Holland", "Noord-Holland"), ("Noord-Holland", "Noord-Holland"), ("South Holland", "Zuid-Holland"),
    ("North Brabant", "Noord-Brabant"), ("Brabant", "Noord-Brabant"), ("Zealand", "Zeeland"),
    ("Guelders", "Gelderland"), ("the province of Drenthe", "Drenthe"),
])
def test_province_names_in_both_languages(gaz, text, expected):
    assert gaz.province(text) == expected


def test_unknown_place_suggests_close_names(gaz):
    res = gaz.resolve("Zwole")
    assert not res.ok and not res.ambiguous
    assert res.suggestions[0] == "Zwolle"
    assert "Amsterdam" in gaz.resolve("Amsterdm").suggestions
    assert gaz.resolve("Xqzzy").suggestions == []


def test_ambiguous_place_lists_options(gaz):
    res = gaz.resolve("Bergen")
    assert res.ambiguous
    assert {p.province for p in res.options} == {"Limburg", "Noord-Holland"}
    assert gaz.resolve("Bergen (L.)").place.province == "Limburg"
    assert gaz.resolve("Bergen NH").place.province == "Noord-Holland"
    assert gaz.resolve("Bergen op Zoom").place.province == "Noord-Brabant"


@pytest.mark.parametrize("text, mode, name", [
    ("climate adaptation near Zwolle", "near", "Zwolle"),
    ("labs in de buurt van Heerlen", "near", "Heerlen"),
    ("proeftuinen bij Den Bosch", "near", "'s-Hertogenbosch"),
    ("iets rond Eindhoven", "near", "Eindhoven"),
    ("close to Delft please", "near", "Delft"),
    ("in Limburg", "in", "Limburg"),
    ("welke proeftuinen zijn er voor datagedreven werken in Limburg?", "in", "Limburg"),
    ("in de provincie Utrecht", "in", "Utrecht"),
    ("labs in North Holland", "in", "Noord-Holland"),
    ("data Noord-Brabant", "in", "Noord-Brabant"),
    ("within 30 km of Groningen", "near", "Groningen"),
    ("binnen 20 km van Assen", "near", "Assen"),
])
def test_find_place_phrases(gaz, text, mode, name):
    found = gaz.find(text)
    assert found, text
    assert found[0].mode == mode and found[0].resolution.place.name == name, (text, found)


def test_find_ignores_non_places_after_in_and_flags_unknown_after_near(gaz):
    assert gaz.find("labs in data and energy") == []
    found = gaz.find("near Zwole")
    assert len(found) == 1 and not found[0].resolution.ok and "Zwolle" in found[0].resolution.suggestions
    amb = gaz.find("near Bergen")
    assert amb[0].resolution.ambiguous


def _law_of_cosines(lat1, lon1, lat2, lon2):
    """An independent formula for the same great-circle distance."""
    import math
    a, b, c, d = map(math.radians, (lat1, lon1, lat2, lon2))
    return 6371.0088 * math.acos(min(1.0, math.sin(a) * math.sin(c) + math.cos(a) * math.cos(c) * math.cos(d - b)))


# Known coordinates (WGS84) and great-circle distances (km): the geodesic (ellipsoid) values
# differ from the sphere by < 0.5 %.
@pytest.mark.parametrize("a, b, km", [
    ((52.3676, 4.9041), (51.9244, 4.4777), 57.2),     # Amsterdam - Rotterdam (centres)
    ((52.0907, 5.1214), (53.2194, 6.5665), 158.9),    # Utrecht - Groningen
    ((50.8882, 5.9795), (53.2012, 5.7999), 257.5),    # Heerlen - Leeuwarden
    ((0.0, 0.0), (0.0, 1.0), 111.195),                # one degree of longitude at the equator
    ((52.0, 5.0), (53.0, 5.0), 111.195),              # one degree of latitude
])
def test_haversine_known_distances(a, b, km):
    assert haversine_km(*a, *b) == pytest.approx(km, rel=0.005)
    assert haversine_km(*a, *b) == pytest.approx(_law_of_cosines(*a, *b), rel=1e-6)
    assert haversine_km(*a, *b) == pytest.approx(haversine_km(*b, *a))


def test_gazetteer_distance_zwolle_deventer(gaz):
    z, d = gaz.resolve("Zwolle").place, gaz.resolve("Deventer").place
    assert 26 < z.distance_to(d.latitude, d.longitude) < 32   # about 29 km as the crow flies


def test_bounding_box_contains_radius():
    lat, lon = 52.5, 6.1
    a, b, c, d = bounding_box(lat, lon, 50)
    for bearing_point in [(lat + 0.449, lon), (lat, lon + 0.735), (lat - 0.449, lon), (lat, lon - 0.735)]:
        assert haversine_km(lat, lon, *bearing_point) <= 50.1
        assert a <= bearing_point[0] <= b and c <= bearing_point[1] <= d


def test_norm():
    assert norm("'s-Hertogenbosch") == "s hertogenbosch"
    assert norm("Fryslân") == "fryslan"
    assert norm("  Bergen (L.) ") == "bergen l"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_find_and_resolve_never_crash(text):
    gaz = gazetteer()
    for phrase in gaz.find(text):
        assert phrase.mode in ("near", "in")
        assert 0 <= phrase.span[0] <= phrase.span[1] <= len(text)
    res = gaz.resolve(text)
    assert res.place is None or res.place.kind in ("province", "municipality", "place")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["near ", "in de buurt van ", "bij ", "rond ", "in ", "nabij "]),
       st.sampled_from([p.name for p in gazetteer().places if p.kind == "municipality"]),
       st.sampled_from(["", " please", " met sensoren", "?"]))
def test_every_municipality_resolves_after_a_prefix(prefix, name, tail):
    found = gazetteer().find(prefix + name + tail)
    assert found, prefix + name
    res = found[0].resolution
    # A few municipality names are also province names ("Utrecht", "Groningen"): "in X" = the province.
    assert res.ok and res.place.name == name or (res.place and res.place.kind == "province")
