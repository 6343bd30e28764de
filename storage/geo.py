"""Dutch places: the bundled gazetteer (storage/data/gazetteer.csv), place-phrase parsing
("near Zwolle", "in de buurt van Heerlen", "in Limburg"), fuzzy suggestions for unknown
names, ambiguity detection ("Bergen") and great-circle distances.

Nothing here downloads anything: the gazetteer is generated once by
storage/data/build_gazetteer.py (see GAZETTEER_SOURCE.md) and shipped."""
from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

GAZETTEER_PATH = Path(__file__).parent / "data" / "gazetteer.csv"
EARTH_RADIUS_KM = 6371.0088

# Places with the same name closer than this are treated as one place (e.g. a municipality
# and its main village listed twice).
SAME_PLACE_KM = 15.0

# Prefixes that introduce a place, longest first. "near" = sort/filter by distance around a
# point; "in" = inside a province, or around a town.
NEAR_PREFIXES = (
    "in de buurt van", "in de omgeving van", "in the vicinity of", "in the neighbourhood of",
    "in the neighborhood of", "in the area of", "in the region of", "in de regio", "in de regio van",
    "omgeving van", "de buurt van", "buurt van", "dicht bij", "dichtbij", "vlakbij", "vlak bij", "close to",
    "km van", "km of", "km from", "km around", "km rond", "km rondom", "km bij", "kilometer van", "kilometers van",
    "kilometer of", "kilometers of", "kilometres of", "kilometers from", "kilometres from",
    "nearby", "near", "nabij", "rondom", "rond", "around", "bij", "omgeving", "regio", "region",
)
IN_PREFIXES = ("in de provincie", "in the province of", "in province", "provincie", "province of", "in", "te")

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_GLUED_UNIT = re.compile(r"(\d+)(km|kilometers?|kilometres?)", re.I)


def norm(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: "'s-Hertogenbosch" -> "s hertogenbosch"."""
    text = unicodedata.normalize("NFKD", str(text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that contains every point within `km`."""
    dlat = km / 111.0
    dlon = km / (111.320 * max(0.01, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # province | municipality | place
    municipality: str
    province: str
    latitude: float
    longitude: float
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Name for people: "Zwolle", "Hengelo (Gelderland)" for a non-municipality place."""
        if self.kind == "province" or "(" in self.name:
            return self.name
        if self.municipality and self.municipality != self.name:
            return f"{self.name} ({self.municipality}, {self.province})"
        return f"{self.name} ({self.province})"

    def distance_to(self, lat: float, lon: float) -> float:
        return haversine_km(self.latitude, self.longitude, lat, lon)


@dataclass
class Resolution:
    """The result of looking up a name: exactly one of place / options / suggestions is useful."""
    query: str
    place: Place | None = None
    options: list[Place] = field(default_factory=list)      # ambiguous: ask which one
    suggestions: list[str] = field(default_factory=list)    # unknown: closest names

    @property
    def ok(self) -> bool:
        return self.place is not None

    @property
    def ambiguous(self) -> bool:
        return self.place is None and len(self.options) > 1


@dataclass
class PlacePhrase:
    """A place found in free text: `mode` is "near" or "in"; `span` the characters it covers."""
    mode: str
    resolution: Resolution
    span: tuple[int, int]
    within_km: float | None = None


_KIND_RANK = {"province": 0, "municipality": 1, "place": 2}


class Gazetteer:
    def __init__(self, places: list[Place]):
        self.places = places
        self.by_key: dict[str, list[Place]] = {}
        for p in places:
            for name in (p.name, *p.aliases):
                key = norm(name)
                if key and p not in self.by_key.setdefault(key, []):
                    self.by_key[key].append(p)
        self.provinces = {p.name: p for p in places if p.kind == "province"}
        self.province_by_key: dict[str, str] = {}
        for p in self.provinces.values():
            for name in (p.name, *p.aliases):
                self.province_by_key[norm(name)] = p.name
        for pname, extra in _PROVINCE_EXTRA.items():
            for name in extra:
                self.province_by_key.setdefault(norm(name), pname)
        self.municipalities = {p.name: p for p in places if p.kind == "municipality"}
        self._keys = list(self.by_key)
        self._max_words = max(len(k.split()) for k in self._keys)

    @classmethod
    def load(cls, path: Path = GAZETTEER_PATH) -> "Gazetteer":
        places = []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                places.append(Place(row["name"], row["kind"], row["municipality"], row["province"],
                                    float(row["latitude"]), float(row["longitude"]),
                                    tuple(a for a in (row.get("aliases") or "").split("|") if a)))
        return cls(places)

    # ------------------------------------------------------------------ provinces
    def province(self, text: str) -> str | None:
        """The official province name for "Limburg", "provincie Noord-Brabant", "North Holland", "Friesland"."""
        key = norm(text)
        for lead in ("provincie ", "province of ", "province ", "de provincie ", "the province of "):
            if key.startswith(lead):
                key = key[len(lead):]
        return self.province_by_key.get(key)

    def province_suggestions(self, text: str, limit: int = 3) -> list[str]:
        found = process.extract(norm(text)[:60], list(self.province_by_key), scorer=fuzz.WRatio,
                                limit=limit * 3, score_cutoff=70)
        out: list[str] = []
        for key, _score, _ in found:
            name = self.province_by_key[key]
            if name not in out:
                out.append(name)
        return out[:limit]

    # ------------------------------------------------------------------ places
    def resolve(self, text: str, *, prefer: str = "point") -> Resolution:
        """Look up one place name. `prefer="point"`: a municipality or town wins over a
        province of the same name ("near Utrecht" = the city); `prefer="area"`: the
        province wins ("in Utrecht" = the province)."""
        raw = (text or "").strip()[:100]
        key = norm(raw)
        for lead in ("gemeente ", "municipality of ", "the municipality of ", "de gemeente ", "stad ", "city of ",
                     "het dorp ", "the city of ", "the town of "):
            if key.startswith(lead) and key[len(lead):] in self.by_key:
                key = key[len(lead):]
                break
        if not key:
            return Resolution(raw)
        province_hint = None
        candidates = self.by_key.get(key)
        if not candidates:
            # "Hengelo Gelderland", "Hengelo (Gelderland)", "Hengelo, Gld": trailing province name.
            words = key.split()
            for cut in range(1, min(3, len(words) - 1) + 1):
                head, tail = " ".join(words[:-cut]), " ".join(words[-cut:])
                prov = self.province_by_key.get(tail) or _PROVINCE_ABBREV.get(tail)
                if prov and head in self.by_key:
                    candidates = [p for p in self.by_key[head] if p.province == prov]
                    province_hint = prov
                    break
        if not candidates:
            return Resolution(raw, suggestions=self.suggest(raw))
        return self._choose(raw, candidates, prefer, province_hint)

    def _choose(self, raw: str, candidates: list[Place], prefer: str, province_hint: str | None) -> Resolution:
        provinces = [p for p in candidates if p.kind == "province"]
        points = [p for p in candidates if p.kind != "province"]
        if provinces and (prefer == "area" or not points):
            return Resolution(raw, place=provinces[0])
        munis = [p for p in points if p.kind == "municipality"]
        if len(munis) == 1:
            return Resolution(raw, place=munis[0])
        if len(munis) > 1:
            return Resolution(raw, options=sorted(munis, key=lambda p: p.label))
        # Only non-municipality places: one place, or several that are really the same spot.
        points.sort(key=lambda p: (bool(not p.municipality), p.province, p.latitude))
        first = points[0]
        if all(first.distance_to(p.latitude, p.longitude) <= SAME_PLACE_KM for p in points[1:]):
            return Resolution(raw, place=first)
        return Resolution(raw, options=points[:8])

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """Closest known names (display spelling), for "did you mean"."""
        key = norm(text)[:60]
        if not key:
            return []
        found = process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=70)
        out: list[str] = []
        for k, _score, _ in found:
            p = sorted(self.by_key[k], key=lambda p: _KIND_RANK[p.kind])[0]
            # Show the alias that matched when it is a name people use (Den Bosch), else the name.
            name = next((a for a in (p.name, *p.aliases) if norm(a) == k), p.name)
            if name not in out:
                out.append(name)
            if len(out) >= limit:
                break
        return out

    # ------------------------------------------------------------------ free text
    def longest_name_at(self, words: list[str], start: int) -> tuple[str, int] | None:
        """The longest gazetteer key made of words[start:start+n]; (key, n)."""
        for n in range(min(self._max_words, len(words) - start), 0, -1):
            key = " ".join(words[start:start + n])
            if key in self.by_key:
                return key, n
        return None

    def find(self, text: str) -> list[PlacePhrase]:
        """Every place phrase in free text, in order: "near X" / "in de buurt van X" / "bij X" /
        "rond X" / "in X" (prefix needed for towns), and bare province names anywhere.
        A name after a near-prefix that is not known is returned as an unknown resolution
        (so the caller can say so); after "in" it is ignored (it may be "in data")."""
        flat = []
        for m in re.finditer(r"[^\W_]+", text[:2000]):
            # "25km van Den Haag" as "25 km van Den Haag": the unit is the prefix's first word.
            unit = _GLUED_UNIT.fullmatch(m.group(0))
            if unit:
                cut = m.start() + unit.start(2)
                flat += [(unit.group(1), m.start(), cut), (norm(unit.group(2)), cut, m.end())]
            else:
                flat.append((norm(m.group(0)), m.start(), m.end()))
        flat = [f for f in flat if f[0] and " " not in f[0]]
        words = [f[0] for f in flat]
        out: list[PlacePhrase] = []
        i = 0
        near_seqs = sorted(((tuple(norm(p).split()), "near") for p in NEAR_PREFIXES), key=lambda x: -len(x[0]))
        in_seqs = sorted(((tuple(norm(p).split()), "in") for p in IN_PREFIXES), key=lambda x: -len(x[0]))
        while i < len(words):
            matched = False
            for seq, mode in near_seqs + in_seqs:
                n = len(seq)
                if tuple(words[i:i + n]) != seq or i + n >= len(words):
                    continue
                j = i + n
                hit = self.longest_name_at(words, j)
                if hit is None and words[j] in ("de", "het", "the") and j + 1 < len(words):
                    j += 1  # "in het Westland", "in the Hague" (but "in De Bilt" is a name)
                    hit = self.longest_name_at(words, j)
                if hit is None:
                    if mode == "near":
                        name_words = _name_like(flat, j, text)
                        if name_words:
                            end = flat[j + name_words - 1][2]
                            raw = text[flat[j][1]:end]
                            out.append(PlacePhrase("near", Resolution(raw, suggestions=self.suggest(raw)),
                                                   (flat[i][1], end)))
                            i = j + name_words
                            matched = True
                            break
                    continue
                key, length = hit
                # "Hengelo Gelderland" / "Bergen (L.)" written with a province after the name.
                end_idx = j + length
                if end_idx < len(words):
                    tail = self.province_by_key.get(words[end_idx]) or _PROVINCE_ABBREV.get(words[end_idx])
                    if tail and not any(p.kind == "province" for p in self.by_key[key]):
                        end_idx += 1
                raw = text[flat[j][1]:flat[end_idx - 1][2]]
                is_province_prefix = mode == "in" and seq and seq[0] in ("provincie", "province")
                prefer = "area" if mode == "in" else "point"
                res = self.resolve(raw, prefer=prefer)
                if is_province_prefix and not (res.place and res.place.kind == "province"):
                    prov = self.province(raw)
                    if prov:
                        res = Resolution(raw, place=self.provinces[prov])
                out.append(PlacePhrase(mode, res, (flat[i][1], flat[end_idx - 1][2])))
                i = end_idx
                matched = True
                break
            if matched:
                continue
            # Bare province names ("Limburg", "Noord-Brabant", "Friesland") count without a prefix.
            hit = self.longest_name_at(words, i)
            if hit:
                key, length = hit
                prov = self.province_by_key.get(key)
                if prov and (key not in _AMBIGUOUS_BARE or _capitalised(flat[i][0], text, flat[i][1])):
                    out.append(PlacePhrase("in", Resolution(text[flat[i][1]:flat[i + length - 1][2]],
                                                            place=self.provinces[prov]),
                                           (flat[i][1], flat[i + length - 1][2])))
                    i += length
                    continue
            i += 1
        return out


def _capitalised(_word: str, text: str, start: int) -> bool:
    return text[start:start + 1].isupper()


def _name_like(flat: list[tuple[str, int, int]], j: int, text: str) -> int:
    """How many words from j look like a place name the user meant (for "near Zwole"):
    up to three words, stopping at typical non-name words. 0 = nothing name-like."""
    n = 0
    while j + n < len(flat) and n < 3:
        w = flat[j + n][0]
        if w in _STOP_AFTER_PLACE or w.isdigit():
            break
        n += 1
    return n


# Words that end a place name in free text ("near Zwolle with sensors").
_STOP_AFTER_PLACE = frozenset(
    "with for and or about within binnen voor met en of over die dat the a an op in van of to km kilometer "
    "kilometers please graag welke which what wat".split())

# Province names that are also common words or city names: counted bare only when capitalised.
_AMBIGUOUS_BARE = frozenset({"utrecht", "groningen", "zeeland", "holland", "brabant", "limburg", "drenthe"})

_PROVINCE_ABBREV = {
    "l": "Limburg", "lb": "Limburg", "li": "Limburg", "nh": "Noord-Holland", "zh": "Zuid-Holland",
    "nb": "Noord-Brabant", "gld": "Gelderland", "gl": "Gelderland", "ov": "Overijssel", "ut": "Utrecht",
    "utr": "Utrecht", "fr": "Fryslân", "fl": "Flevoland", "gr": "Groningen", "dr": "Drenthe", "ze": "Zeeland",
    "zl": "Zeeland",
}

# Extra province spellings in both languages (the gazetteer has the official ones and some aliases).
_PROVINCE_EXTRA = {
    "Noord-Holland": ("North Holland", "North-Holland", "Noord Holland", "provincie Noord-Holland"),
    "Zuid-Holland": ("South Holland", "South-Holland", "Zuid Holland", "provincie Zuid-Holland"),
    "Noord-Brabant": ("North Brabant", "North-Brabant", "Noord Brabant", "Brabant", "provincie Noord-Brabant"),
    "Fryslân": ("Friesland", "Fryslan", "Frisia", "Friesland province"),
    "Limburg": ("Limburg province", "Dutch Limburg"),
    "Gelderland": ("Guelders", "Gelderland province"),
    "Overijssel": ("Overijssel province",),
    "Zeeland": ("Zealand",),
    "Drenthe": ("Drente",),
    "Flevoland": (),
    "Groningen": ("Groningen province",),
    "Utrecht": ("Utrecht province",),
}


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded once per process."""
    return Gazetteer.load()
