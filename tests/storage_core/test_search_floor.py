"""The relevance floor of the search engine: nonsense finds nothing, and random text never
yields more results than the floor allows -- words absent from the data contribute nothing
and outweigh present words, so only documents matching most of the query (by idf weight) and
at least one real (non-numeric, longer than two letters) word are returned."""
from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, text

from storage.funding.records import FUNDING_INDEX
from support.funding_env import funding_services

NONSENSE = ["<script>alert(1)</script>", "'; DROP TABLE funding_instruments; --", "1", "qwxz blorft", "x",
            "42", "!!!", "zzz zzz zzz", "DROP TABLE kv"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(funding_services(tmp_path_factory.mktemp("floor")))

    async def docs():
        async with services.db.session() as s:
            rows = (await s.execute(text("SELECT doc_id, title || ' ' || topics || ' ' || body FROM funding_search"))).all()
            return {d: set(body.split()) for d, body in rows}
    index_docs = loop.run_until_complete(docs())
    yield loop, services, index_docs
    loop.run_until_complete(services.db.dispose())
    loop.close()


def _search(env, q, limit=100):
    loop, services, _ = env

    async def go():
        async with services.db.session() as s:
            return await FUNDING_INDEX.hits(s, q, limit=limit)
    return loop.run_until_complete(go())


@pytest.mark.parametrize("q", NONSENSE)
def test_nonsense_finds_nothing(env, q):
    assert _search(env, q) == []


def test_a_generic_word_next_to_a_topic_word_does_not_carry_a_document(env):
    # "gemeenten" is in most records; a record with only that word is under the floor, because
    # a word naming a topic weighs double.
    hits = {h.doc_id: h for h in _search(env, "klimaat gemeenten")}
    assert hits and all(h.coverage >= 0.4 for h in hits.values())
    alone = {h.doc_id for h in _search(env, "gemeenten")}
    assert len(alone) > len(hits)


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(WORDS, st.sampled_from(["klimaat", "energie", "gemeenten", "subsidie", "de", "1",
                                                    "water", "housing", "the"])), min_size=1, max_size=6))
def test_random_text_never_beats_the_floor(env, words):
    _, _, docs = env
    q = " ".join(words)
    plan = FUNDING_INDEX.plan(q)
    hits = _search(env, q)
    present = [g for g in plan if any(g.matches(list(terms)) for terms in docs.values())]
    if not any(not g.weak for g in present):
        # Only words absent from the data (or short numbers): nothing at all.
        assert hits == [], (q, [h.doc_id for h in hits])
        return
    n = len(plan)
    floor = min(0.4, 2 / (n + 1))
    for h in hits:
        terms = list(docs[h.doc_id])
        matched = [g for g in plan if g.matches(terms)]
        assert any(not g.weak for g in matched), (q, h)
        assert h.coverage + 1e-9 >= floor, (q, h)
    # A document matching none of the present non-weak words is never a result.
    for d, terms in docs.items():
        if not any(g.matches(list(terms)) for g in plan if not g.weak):
            assert d not in {h.doc_id for h in hits}
