"""A small, generic full-text search engine for capability tables (funding, labs, ...).

The same API runs on SQLite (FTS5 + bm25) and PostgreSQL (tsvector + GIN + ts_rank).
Stemming is done in Python with PyStemmer (Dutch *and* English Snowball stems of every
word), on documents and on queries alike, so both engines index and match the same
stemmed tokens. User text never reaches MATCH / to_tsquery raw: it is tokenized into
alphanumeric words here, and the query expression is built from double-quoted stems.

Usage::

    from storage.search import SearchIndex

    # Field name -> weight (higher = more important). One index = one table.
    LABS = SearchIndex("labs_search", {"title": 5.0, "topics": 4.0, "body": 1.0},
                       expand=topics.expand_query)          # optional synonym expansion

    # In your Alembic migration (creates the FTS5 virtual table or the PG table+GIN index):
    for stmt in LABS.ddl(op.get_bind().dialect.name):
        op.execute(stmt)
    # ... and in downgrade():  for stmt in LABS.drop_ddl(dialect): op.execute(stmt)

    # Fill / update (inside your own transaction; these never commit):
    await LABS.rebuild(session, [(lab.id, {"title": ..., "topics": ..., "body": ...}), ...])
    await LABS.upsert(session, "lab-id", {"title": ..., "body": ...})   # missing fields = ""
    await LABS.delete(session, "lab-id")

    # Query: best first, 0 < score <= 2 (higher is better; > 1 = matched every word). `ids_filter` restricts to a set of ids
    # (None = no restriction; an empty collection = no results).
    hits: list[tuple[str, float]] = await LABS.search(session, "klimaatadaptatie wijk",
                                                      lang="nl", limit=20, ids_filter=None)

Query semantics: words are lower-cased, stop words (nl+en) dropped, each remaining word
becomes a group of its Dutch and English stems (matching is on whole stems, no prefix
or fuzzy matching; do typo suggestions yourself, e.g. with rapidfuzz). Documents that contain every group
are ranked first (AND); the rest of the list is filled with documents that contain any
group (OR), each part ordered by bm25 / ts_rank with the field weights. `expand(text)`
may return extra phrases (e.g. topic aliases, or topic tag tokens such as
``storage.topics.tag("climate-adaptation")``) that are OR-ed into the query as optional
alternatives; they never make the AND part stricter.

Inputs of any length are accepted: queries are cut to MAX_QUERY_CHARS characters and
MAX_QUERY_TERMS words. An empty query (only punctuation/stop words) returns [].

Helpers for callers: ``tokens(text)`` (alnum words), ``stems(word)`` (nl+en stems),
``analyze(text)`` (the stemmed token string stored in the index),
``query_terms(text)`` (the stem groups a query becomes) -- see storage/search/text.py.
"""
from storage.search.index import SearchIndex
from storage.search.text import MAX_QUERY_CHARS, MAX_QUERY_TERMS
from storage.search.text import STOPWORDS, analyze, query_terms, stems, tokens, trim_stopwords

__all__ = ["SearchIndex", "analyze", "query_terms", "stems", "tokens", "trim_stopwords", "STOPWORDS",
           "MAX_QUERY_CHARS", "MAX_QUERY_TERMS"]
