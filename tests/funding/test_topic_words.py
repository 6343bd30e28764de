"""Issue 18, "a topic word ranks a generic programme first": a query that is a topic word
(one or two words naming one of the hub's topics, Dutch or English) lists the instruments
about that topic first. About the topic = the topic is one of the record's themes and the
record has at most storage.search.ranking.BROAD_THEMES themes (as test_funding_relevance.py's
open-first test counts it); a generic programme listing more themes, which merely mentions
the topic among many, must not be among the first three while three records about the topic
are found (or the first n, when only n are). The records and their themes come from the data;
no record is named here."""
from __future__ import annotations

from sqlalchemy import select

from storage import topics
from storage.funding.models import FundingInstrument
from storage.search.ranking import BROAD_THEMES
from support.funding_env import FundingChat, funding_services, all_result_ids

QUERIES = [
    ("!subsidie energie", "energy-transition"),
    ("!funding energy", "energy-transition"),
    ("!subsidie klimaatadaptatie", "climate-adaptation"),
    ("!funding climate adaptation", "climate-adaptation"),
    ("!subsidie mobiliteit", "mobility"),
    ("!funding mobility", "mobility"),
    ("!subsidie circulaire economie", "circular-economy"),
    ("!funding circular economy", "circular-economy"),
    ("!subsidie biodiversiteit", "soil-biodiversity"),
    ("!funding biodiversity", "soil-biodiversity"),
    ("!subsidie digitale overheid", "public-services"),
    ("!funding digital twins", "data-digital-twins"),
]


async def test_topic_words_list_records_about_the_topic_first(tmp_path, report_figure):
    services = await funding_services(tmp_path, modules=None)
    chat = FundingChat(services)
    try:
        async with services.db.session() as s:
            rows = {r.id: r for r in (await s.scalars(select(FundingInstrument))).all()}
        wrong = []
        for query, topic in QUERIES:
            word = query.split(maxsplit=1)[1]
            assert topic in topics.query_topics(word), (query, topics.query_topics(word))   # the word names it
            ids = await all_result_ids(chat, query)

            def about(i):
                themes = set(rows[i].themes or ())
                return topic in themes and len(themes) <= BROAD_THEMES
            need = min(3, sum(about(i) for i in ids))
            assert need >= 1, (query, ids)
            if not all(about(i) for i in ids[:need]):
                wrong.append((query, ids[:need]))
        report_figure(f"topic words: {len(QUERIES) - len(wrong)}/{len(QUERIES)} list only records about the topic "
                      f"first (top 3, or top n when n are found)")
        assert wrong == []
    finally:
        await services.db.dispose()
