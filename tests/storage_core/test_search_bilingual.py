"""Issue 18 in the search engine (storage/search): the bilingual vocabulary, Dutch compounds
split against a lexicon, and "closest" answers for near misses -- with property tests that
random Dutch/English text never raises and that words absent from the data find nothing."""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from rapidfuzz import fuzz, process
from sqlalchemy import text

from storage.search import SearchIndex, analyze, bilingual, compounds, stems, trim_stopwords
from storage.search.index import FUZZY_CUTOFF
from support.funding_env import funding_services
from storage.funding.records import FUNDING_INDEX

# ------------------------------------------------------------------ pure parts


@pytest.mark.parametrize("word, parts", [
    ("klimaatstresstest", ("klimaat", "stresstest")),
    ("klimaatadaptatie", ("klimaat", "adaptatie")),
    ("warmtenetten", ("warmte", "netten")),
    ("funderingsschade", ("fundering", "schade")),     # linking s
    ("gemeente", ()),                                  # not a compound
    ("klimaat", ()),                                   # too short to split
])
def test_compounds_split_against_the_lexicon(word, parts):
    assert compounds.split(word) == parts


def test_the_index_holds_a_compound_and_its_tail():
    terms = analyze("Klimaatstresstest uitgevoerd").split()
    assert set(stems("stresstest")) <= set(terms)
    assert set(stems("klimaatstresstest")) <= set(terms)


def test_translations_both_ways_and_by_phrase():
    assert ("public", "transport") in bilingual.translations(["openbaar", "vervoer"])[0]
    assert ("grensoverschrijdend",) in bilingual.translations(["cross-border"])[0]
    assert ("samenwerking",) in bilingual.translations(["cooperation"])[0]
    # "district" inside "district heating" is not read as a neighbourhood
    assert ("wijk",) not in bilingual.translations(["district", "heating"])[0]
    assert ("warmtenet",) in bilingual.translations(["district", "heating"])[0]
    assert bilingual.translations(["qxzv"]) == [[]]


# ------------------------------------------------------------------ a small index

INDEX = SearchIndex("issue18_search", {"title": 5.0, "body": 1.0})
DOCS = {
    "en-only": {"title": "Cross-border cooperation between municipalities",
                "body": "Grants for local authorities that work with partners across the border on public transport."},
    "nl-compound": {"title": "Klimaatstresstest en uitvoeringsagenda",
                    "body": "Geld voor gemeenten die na de stresstest maatregelen nemen tegen wateroverlast."},
    "heat": {"title": "Warmtenetten in bestaande wijken", "body": "Aardgasvrije wijken met collectieve warmte."},
}


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(funding_services(tmp_path_factory.mktemp("bilingual")))

    async def setup():
        async with services.db.transaction() as s:
            for stmt in INDEX.ddl("sqlite"):
                await s.execute(text(stmt))
            await INDEX.rebuild(s, DOCS.items())
    loop.run_until_complete(setup())
    yield loop, services
    loop.run_until_complete(services.db.dispose())
    loop.close()


def run(idx, coro_fn):
    loop, services = idx

    async def go():
        async with services.db.session() as s:
            return await coro_fn(s)
    return loop.run_until_complete(go())


def ids(hits):
    return [h.doc_id for h in hits]


def test_dutch_words_find_an_english_record(idx):
    hits = run(idx, lambda s: INDEX.hits(s, "grensoverschrijdende samenwerking gemeenten openbaar vervoer"))
    assert ids(hits)[:1] == ["en-only"]
    assert hits[0].coverage == pytest.approx(1.0)


def test_english_words_find_a_dutch_record(idx):
    assert "heat" in ids(run(idx, lambda s: INDEX.hits(s, "district heating")))


def test_a_compound_is_found_by_its_tail(idx):
    assert ids(run(idx, lambda s: INDEX.hits(s, "klimaatstresstest")))[:1] == ["nl-compound"]
    assert "nl-compound" in ids(run(idx, lambda s: INDEX.hits(s, "stresstest")))
    assert "heat" in ids(run(idx, lambda s: INDEX.hits(s, "warmtenet")))


def test_closest_reads_a_typo_and_names_missing_words(idx):
    vocab = {w.strip(".,") for d in DOCS.values() for v in d.values() for w in v.lower().split()}
    near = run(idx, lambda s: INDEX.closest(s, "klimaatstresstset kwzrtq", vocab))
    assert ids(near.hits) == ["nl-compound"]
    assert near.corrected == {"klimaatstresstset": "klimaatstresstest"}
    assert near.missing == ["kwzrtq"]


def test_closest_does_not_read_a_real_word_as_a_typo(idx):
    """"gemeentehuis" (town hall) is spelled right; that no record has it does not make it
    "gemeente": it is named as not found, and the other words still give the closest."""
    vocab = {w.strip(".,") for d in DOCS.values() for v in d.values() for w in v.lower().split()} | {"gemeente"}
    near = run(idx, lambda s: INDEX.closest(s, "klimaatstresstest gemeentehuis", vocab))
    assert near.corrected == {} and near.missing == ["gemeentehuis"]
    assert ids(near.hits)[:1] == ["nl-compound"]


@pytest.mark.parametrize("q", ["<script>alert(1)</script>", "'; DROP TABLE issue18_search; --", "qxzv",
                               "kwzrtq xqvbnm", "!!!", "12"])
def test_closest_stays_empty_for_nonsense_and_code(idx, q):
    assert run(idx, lambda s: INDEX.closest(s, q, ["stresstest", "warmte"])).hits == []


# ------------------------------------------------------------------ properties

NL_EN = ["subsidie", "gemeente", "klimaat", "adaptatie", "stresstest", "warmtenet", "grens", "cooperation",
         "municipality", "heat", "the", "de", "en", "voor", "funding", "zonnepanelen", "é", "ĳ", "-", "'", "?",
         "DROP", "TABLE", "<b>", "%", "*", "\"", "“", "123", "co2-neutraal"]
TEXT = st.one_of(st.text(max_size=200),
                 st.lists(st.sampled_from(NL_EN), max_size=25).map(" ".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=TEXT)
def test_random_dutch_english_text_never_raises(idx, q):
    run(idx, lambda s: INDEX.hits(s, q))
    run(idx, lambda s: INDEX.closest(s, q, ["stresstest", "warmte", "klimaat"]))


@pytest.fixture(scope="module")
def funding(tmp_path_factory):
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(funding_services(tmp_path_factory.mktemp("absent")))

    async def vocab():
        async with services.db.session() as s:
            rows = (await s.execute(text("SELECT title, topics, body FROM funding_search"))).all()
            return sorted({w for r in rows for f in r for w in f.split()})
    yield loop, services, loop.run_until_complete(vocab())
    loop.run_until_complete(services.db.dispose())
    loop.close()


ABSENT = st.lists(st.text(alphabet="qxzjvkw", min_size=3, max_size=10), min_size=1, max_size=6)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=ABSENT)
def test_words_absent_from_the_data_find_nothing(funding, words):
    loop, services, vocab = funding
    # Absent: no analysed term of the data is one of them or close to one (not a typo of one).
    for w in words:
        assert process.extractOne(w, vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF) is None
    q = " ".join(words)

    async def go():
        async with services.db.session() as s:
            return (await FUNDING_INDEX.hits(s, q),
                    await FUNDING_INDEX.closest(s, q, vocab + ["klimaatadaptatie", "housing"]))
    hits, near = loop.run_until_complete(go())
    assert hits == [] and near.hits == []


@pytest.mark.parametrize("typed,shown", [
    ("for digital twin", "digital twin"),
    ("voor de energietransitie", "energietransitie"),
    ("over warmtenet graag", "warmtenet"),
    ("climate adaptation", "climate adaptation"),
    ("de", "de"),                       # only stop words: repeated as typed, never empty
    ("  Voor   Klimaat!  ", "Klimaat!"),
])
def test_a_header_repeats_the_query_without_its_leading_and_trailing_stop_words(typed, shown):
    assert trim_stopwords(typed) == shown


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_trimming_stop_words_keeps_a_piece_of_what_was_typed(typed):
    shown = trim_stopwords(typed)
    assert shown in " ".join(typed.split()) and (shown or not typed.strip())
