"""Review criteria and the free-text parts of a review: their labels in English and
Dutch, and how the words people type (`haalbaarheid`, `feasability`, `sterke-punten`)
map onto them. The criteria in use come from `settings.sessions.criteria`."""
from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from bot.framework.i18n import N_, Translator

CRITERION_LABELS = {
    "impact": N_("Impact"),
    "feasibility": N_("Feasibility"),
    "scalability": N_("Scalability and reusability"),
    "interoperability": N_("Interoperability"),
    "public_values": N_("Public values"),
}
# Other spellings people use for the built-in criteria (Dutch names, halves of long names).
CRITERION_ALIASES = {
    "impact": ("impact", "effect", "maatschappelijke impact"),
    "feasibility": ("feasibility", "haalbaarheid", "haalbaar", "uitvoerbaarheid"),
    "scalability": ("scalability", "reusability", "scalability and reusability", "schaalbaarheid",
                    "herbruikbaarheid", "schaalbaarheid en herbruikbaarheid", "opschaalbaarheid"),
    "interoperability": ("interoperability", "interoperabiliteit", "interop"),
    "public_values": ("public values", "publieke waarden", "waarden", "values", "publieke waarde"),
}

# Free-text parts of a review (columns of storage.sessions.models.Review).
TEXT_FIELDS = ("strengths", "concerns", "recommendations")
TEXT_LABELS = {"strengths": N_("Strengths"), "concerns": N_("Concerns"), "recommendations": N_("Recommendations")}
TEXT_PROMPTS = {
    "strengths": N_("What are the project's strengths?"),
    "concerns": N_("What concerns do you have?"),
    "recommendations": N_("What do you recommend the presenter?"),
}
TEXT_ALIASES = {
    "strengths": ("strengths", "strength", "sterke punten", "sterke-punten", "sterktes", "sterkte", "pluspunten"),
    "concerns": ("concerns", "concern", "zorgen", "zorgpunten", "aandachtspunten", "risicos", "risico's"),
    "recommendations": ("recommendations", "recommendation", "aanbevelingen", "aanbeveling", "advies", "adviezen"),
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def criterion_label(t: Translator, key: str) -> str:
    """The label in the reader's language; a configured criterion we have no label for
    is shown as written in the config (underscores as spaces)."""
    if key in CRITERION_LABELS:
        return t(CRITERION_LABELS[key])
    return key.replace("_", " ").capitalize()


def text_label(t: Translator, field: str) -> str:
    return t(TEXT_LABELS[field])


def _names(criteria: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for key in criteria:
        names[_norm(key)] = key
        for alias in CRITERION_ALIASES.get(key, ()):
            names.setdefault(_norm(alias), key)
    return names


def match_criterion(words: str, criteria: list[str], *, fuzzy: bool = True) -> str | None:
    """The criterion key `words` names (exact alias first, then a close spelling)."""
    names = _names(criteria)
    key = _norm(words)
    if not key:
        return None
    if key in names:
        return names[key]
    if not fuzzy or len(key) < 4:
        return None
    found = process.extractOne(key, list(names), scorer=fuzz.ratio, score_cutoff=80)
    return names[found[0]] if found else None


def suggest_criteria(words: str, criteria: list[str]) -> list[str]:
    names = _names(criteria)
    return [m[0] for m in process.extract(_norm(words)[:60], list(names), scorer=fuzz.WRatio, limit=3,
                                          score_cutoff=60)]


def match_text_field(words: str) -> str | None:
    key = _norm(words)
    for field, aliases in TEXT_ALIASES.items():
        if key in {_norm(a) for a in aliases}:
            return field
    return None
