"""Dutch and English words of the hub's own vocabulary -- topic labels and aliases, and the
bundled records' texts in each language -- as language signals for short messages such as
"!funding climate adaptation" or "!subsidie klimaat" that carry no stop words."""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import yaml

from storage import topics
from storage.search.text import tokens

# (bundled file, list key, English field, Dutch field), from the loaded data sets'
# declarations (storage.datasets.DataSet.bilingual).
_TEXTS: list[tuple[Path, str, str, str]] = []


def add_texts(dataset) -> None:
    """Count a data set's bundled texts that exist in both languages."""
    for key, en_field, nl_field in dataset.bilingual:
        entry = (Path(dataset.bundled_path), key, en_field, nl_field)
        if entry not in _TEXTS:
            _TEXTS.append(entry)
            language_words.cache_clear()


@lru_cache(maxsize=1)
def language_words() -> dict[str, frozenset[str]]:
    """{'nl': words, 'en': words}: a word belongs to a language when it occurs at least three
    times as often in that language's texts as in the other's (names such as Rotterdam or
    Horizon occur in both and say nothing)."""
    count = {"nl": Counter(), "en": Counter()}
    for t in topics.all_topics():
        for term in (t.nl, *t.aliases_nl):
            count["nl"].update(set(tokens(term)))
        for term in (t.en, *t.aliases_en):
            count["en"].update(set(tokens(term)))
    for path, key, en_field, nl_field in _TEXTS:
        try:
            records = yaml.safe_load(path.read_text(encoding="utf-8")).get(key) or []
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        for r in records:
            if r.get(en_field) and r.get(nl_field):   # only records that have both languages
                count["en"].update(set(tokens(str(r[en_field]))))
                count["nl"].update(set(tokens(str(r[nl_field]))))
    out = {}
    for lang, other in (("nl", "en"), ("en", "nl")):
        out[lang] = frozenset(w for w, n in count[lang].items()
                              if len(w) >= 3 and not w.isdigit() and n >= 3 * count[other].get(w, 0))
    return out
