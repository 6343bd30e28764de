"""Issue 18, "Compounds": the Dutch compound splitter (storage/search/compounds.py) splits
real compounds into frequent Dutch words and leaves alone English words, common Dutch words
in their own right and words whose only splits are junk ("community" is not comm + unity,
"integraal" not inte + graal). Property tests: the parts always rebuild the word with at
most one linking sound between two parts, and nothing raises on random text."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from storage.search import analyze, compounds, stems


@pytest.mark.parametrize("word, parts", [
    ("funderingsschade", ("fundering", "schade")),       # linking s
    ("klimaatstresstest", ("klimaat", "stresstest")),
    ("klimaatadaptatie", ("klimaat", "adaptatie")),
    ("warmtenetten", ("warmte", "netten")),
    ("hittestress", ("hitte", "stress")),
    ("bodemdaling", ("bodem", "daling")),
    ("zonnepanelen", ("zonne", "panelen")),
    ("buurthuizen", ("buurt", "huizen")),
    ("volkshuisvesting", ("volk", "huisvesting")),       # linking s: volk, the more frequent
    ("energietransitie", ("energie", "transitie")),
    ("aardgasvrije", ("aardgas", "vrije")),
    ("kennisdeling", ("kennis", "deling")),
    ("vergunningverlening", ("vergunning", "verlening")),
    ("overheidsorganisaties", ("overheid", "organisaties")),
])
def test_real_compounds_split(word, parts):
    assert compounds.split(word) == parts


@pytest.mark.parametrize("word", [
    # common English words (the records are half English)
    "community", "information", "international", "infrastructure", "management",
    "partnership", "platform", "building", "transport", "september", "interest",
    # Dutch words in their own right, or whose only splits are rare fragments
    "integraal", "waterstof", "organisatie", "samenwerking", "onderzoek", "overheid",
    "duurzaamheid", "veiligheid", "maatregelen", "wetenschap", "financiering",
    "gemeente", "aanbesteding", "innovatie", "studenten", "antwoorden", "digitaal",
    # places
    "nederland", "groningen", "maastricht", "eindhoven",
    # too short
    "klimaat",
])
def test_words_that_are_no_compounds_are_not_split(word):
    assert compounds.split(word) == ()
    assert compounds.tails(word) == ()


def test_no_junk_tail_reaches_the_index():
    # "community" once stood for "unity" and "integraal" for "graal" in the index
    terms = set(analyze("Community integraal").split())
    assert not terms & {*stems("unity"), *stems("graal")}
    # a real compound still brings its tail
    assert set(stems("schade")) <= set(analyze("Funderingsschade aan woningen").split())


def test_fewest_parts_first():
    # klimaat + stresstest, not klimaat + stress + test
    assert compounds.split("klimaatstresstest") == ("klimaat", "stresstest")
    assert compounds.tails("klimaatstresstest") == ("stresstest",)


def _rebuilds(word: str, parts: tuple[str, ...]) -> bool:
    """`parts` joined with at most one linking sound between two parts give `word`."""
    if not parts:
        return word == ""
    head, rest = parts[0], parts[1:]
    if not word.startswith(head):
        return False
    tail = word[len(head):]
    if not rest:
        return tail == ""
    return any(tail.startswith(link) and _rebuilds(tail[len(link):], rest)
               for link in ("", *compounds.LINKS))


def _check(word: str) -> None:
    parts = compounds.split(word)
    assert isinstance(parts, tuple)
    if parts:
        assert len(parts) >= 2
        assert all(len(p) >= compounds.MIN_PART for p in parts)
        assert _rebuilds(word, parts), (word, parts)
    for tail in compounds.tails(word):
        assert word.endswith(tail) and len(tail) >= compounds.MIN_TAIL


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_never_raises(text):
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[a-z]{0,40}", fullmatch=True))
def test_random_letters_split_into_parts_that_rebuild_the_word(word):
    _check(word)


_PARTS = ["klimaat", "water", "warmte", "net", "netten", "bodem", "daling", "fundering",
          "schade", "buurt", "huis", "huizen", "stress", "test", "zonne", "panelen", "energie",
          "transitie", "volk", "inte", "graal", "unity", "comm", "gemeente", "stof", "wijk"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PARTS), st.sampled_from(("", "s", "e", "en"))),
                min_size=1, max_size=4))
def test_glued_words_split_into_parts_that_rebuild_the_word(pieces):
    _check("".join(p + link for p, link in pieces))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_analysing_random_text_never_raises(text):
    assert isinstance(analyze(text), str)
