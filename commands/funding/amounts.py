"""Amounts and years in funding questions, in Dutch and English: "minimaal 1 miljoen",
"boven 5 ton", "over 1 million", "tot € 50.000", "up to €50,000"; "opens in 2027",
"sluiten in 2027" (a year is a window on the dates, never a search word that would match
"2021-2027" in titles)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"k": 1e3, "duizend": 1e3, "thousand": 1e3, "ton": 1e5, "m": 1e6, "mln": 1e6, "mio": 1e6,
          "miljoen": 1e6, "million": 1e6, "millions": 1e6, "miljard": 1e9, "billion": 1e9}
_AMOUNT = r"(?:€|eur|euro)?\s*(\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?)\s*(k|ton|mln|mio|miljoen|million|millions|miljard|billion|duizend|thousand|m)?\b\s*(?:€|eur|euro)?"
_AT_LEAST = r"minimaal|minstens|ten\s+minste|tenminste|boven(?:\s+de)?|meer\s+dan|vanaf|over|above|at\s+least|more\s+than|min\.?|>=?"
_AT_MOST = r"tot(?:\s+maximaal)?|maximaal|hooguit|onder|minder\s+dan|up\s+to|under|below|less\s+than|at\s+most|max\.?|<=?"
_PHRASE = re.compile(rf"(?<![\w-])(?:(?:van|of|with|met|een\s+budget\s+van)\s+)?({_AT_LEAST}|{_AT_MOST})\s+{_AMOUNT}", re.I)


def value_of(number: str, unit: str | None) -> int:
    number = number.replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", number):
        number = re.sub(r"[.,]", "", number)
    else:
        number = number.replace(",", ".")
    return int(float(number) * _UNITS.get((unit or "").lower(), 1))


@dataclass
class Amount:
    at_least: int | None = None
    at_most: int | None = None


def amounts_in(text: str) -> tuple[Amount, str]:
    """The amount bounds a sentence names, and the sentence without them."""
    out = Amount()

    def take(m: re.Match) -> str:
        word = m.group(1).lower()
        # a bare number without unit or € after "over" is not an amount ("over 2 weken" is handled elsewhere)
        if not m.group(3) and "€" not in m.group(0) and "eur" not in m.group(0).lower() and int(
                re.sub(r"\D", "", m.group(2)) or 0) < 1000:
            return m.group(0)
        value = value_of(m.group(2), m.group(3))
        if re.match(_AT_MOST, word, re.I) and not re.match(_AT_LEAST, word, re.I) or word.startswith(("tot", "up")):
            out.at_most = value
        else:
            out.at_least = value
        return " "
    rest = _PHRASE.sub(take, text)
    return out, " ".join(rest.split())


_YEAR = re.compile(r"\b(?:in|for|voor|during|tijdens)?\s*(20[2-9]\d)\b(?![-/]\d)")
_OPENS = re.compile(r"\b(?:opens?|opening|open\s+up|gaan\s+open|gaat\s+open|opent|openen|start\w*|begin\w*)\b", re.I)
_CLOSES = re.compile(r"\b(?:close[sd]?|closing|deadlines?|sluit\w*|sluiting\w*|due)\b", re.I)


def year_window(text: str) -> tuple[str | None, int | None, str]:
    """("opens" | "closes", year, text without it) for "what funding opens in 2027?"."""
    m = _YEAR.search(text)
    if not m or re.search(r"\d{4}\s*[-–/]\s*" + m.group(1) + r"|" + m.group(1) + r"\s*[-–/]\s*\d{4}", text):
        return None, None, text
    kind = "opens" if _OPENS.search(text) else "closes" if _CLOSES.search(text) else None
    if kind is None:
        return None, None, text
    rest = text[:m.start()] + " " + text[m.end():]
    rest = _OPENS.sub(" ", rest) if kind == "opens" else _CLOSES.sub(" ", rest)
    return kind, int(m.group(1)), " ".join(rest.split())
