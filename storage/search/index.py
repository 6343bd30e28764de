"""SearchIndex: one full-text table per capability, on SQLite FTS5 or PostgreSQL."""
from __future__ import annotations

import json
import math
from bisect import bisect_left
from functools import lru_cache
import re
import time
from dataclasses import dataclass, field, replace
from typing import AsyncIterable, Callable, Collection, Iterable, Mapping

from rapidfuzz import fuzz, process
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.search import bilingual, compounds
from storage.search.text import (
    MAX_QUERY_CHARS, MAX_QUERY_TERMS, STOPWORDS, analyze, content_words, is_weak, prefixes, query_terms, stems,
    tokens,
)

# A document must match at least this share of a short query's (idf-weighted) words to be
# a result; longer queries need less (2 / (words + 1)), so a pasted paragraph still finds.
# Measured on the relevance sets: 0.5 lost sloppy lab queries with one absent word.
MIN_COVERAGE = 0.4
# A plain sentence nothing else understood is searched (bot.framework.capability.Fallback)
# only when one document holds at least CLEAR_WORDS of its own content words, and at least
# CLEAR_COVERAGE of them weighted by rarity: "what is the weather like?" (one word) and
# "blauwe olifanten dansen vanavond" (rare words found nowhere) stay "not understood".
CLEAR_WORDS = 2
CLEAR_COVERAGE = 0.75
MIN_FUZZY = 5       # a word shorter than this is not read as a typo of another
FUZZY_CUTOFF = 80   # rapidfuzz ratio: "klimaatadaptaite" ~ "klimaatadaptatie", "housign" ~ "housing"
PLAN_CACHE = 1024  # query plans kept (oldest dropped first)
COUNT_TTL = 300.0   # seconds the document count (for idf) is reused
# Bump when analyze() (what is stored for a document) changes.
ANALYSIS_VERSION = 4   # 3: compound tails (issue 18); 4: no junk tails (English words, common
                      # Dutch words, rare short parts are not split)

# Code rather than words (SQL, markup, templates): never answered with "closest" records.
_CODE = re.compile(r"[;<>{}=|\\`]|--|/\*|\$\(")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_WEIGHT_LETTERS = "ABCD"


def _quote(stem: str) -> str:
    # Stems are [a-z0-9]+ by construction; the assert is the last wall before MATCH/to_tsquery.
    assert re.fullmatch(r"[a-z0-9]+", stem), stem
    return f'"{stem}"'


class SearchIndex:
    """A full-text index named `table` over `fields` (name -> weight, > 0).

    `synonyms(words) -> list[list[str]]`: per content word of a query, extra index terms
    (e.g. topic tags) that count as that word (storage.topics.expand_words).
    `expand(query_text) -> list[str]`: optional older expansion; the returned phrases are
    analysed like the query and OR-ed in as optional terms that do not count for coverage."""

    def __init__(self, table: str, fields: Mapping[str, float],
                 expand: Callable[[str], list[str]] | None = None,
                 synonyms: Callable[[list[str]], list[list[str]]] | None = None, version: int = 1,
                 tag_fields: Collection[str] = ("topics",)):
        if not _IDENT.match(table) or not fields or not all(_IDENT.match(f) for f in fields):
            raise ValueError("table and field names must be simple lower-case identifiers")
        if "doc_id" in fields or any(w <= 0 for w in fields.values()):
            raise ValueError("'doc_id' is reserved and weights must be > 0")
        self.table = table
        self.fields = dict(fields)
        self.expand = expand
        self.synonyms = synonyms
        # Fields that name topics (tags and aliases): a match there is not a literal one.
        self._literal = [i for i, f in enumerate(self.fields) if f not in tag_fields]
        # What is in the index = the engine's analysis + the caller's documents; when either
        # changes, existing databases are rebuilt at start-up (see needs_rebuild).
        self.version = f"{ANALYSIS_VERSION}.{version}"
        self._count_cache: tuple[int, float] | None = None
        self._plans: dict[tuple[str, str], tuple[Group, ...]] = {}

    # ------------------------------------------------------------------ schema
    def ddl(self, dialect: str) -> list[str]:
        """CREATE statements for `dialect` ('sqlite' or 'postgresql'), for migrations."""
        cols = list(self.fields)
        if dialect == "sqlite":
            return [f"CREATE VIRTUAL TABLE {self.table} USING fts5(doc_id UNINDEXED, {', '.join(cols)}, "
                    f"tokenize = 'unicode61 remove_diacritics 2')"]
        if dialect == "postgresql":
            col_defs = ", ".join(f"{c} TEXT NOT NULL DEFAULT ''" for c in cols)
            return [f"CREATE TABLE {self.table} (doc_id VARCHAR(200) PRIMARY KEY, {col_defs}, tsv TSVECTOR NOT NULL)",
                    f"CREATE INDEX ix_{self.table}_tsv ON {self.table} USING GIN (tsv)"]
        raise ValueError(f"unsupported dialect {dialect!r}")

    def drop_ddl(self, dialect: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.table}"]

    # ------------------------------------------------------------------ writing
    def _row(self, doc_id: str, fields: Mapping[str, str]) -> dict:
        unknown = set(fields) - set(self.fields)
        if unknown:
            raise ValueError(f"unknown fields for {self.table}: {sorted(unknown)}")
        row = {"doc_id": str(doc_id)}
        for f in self.fields:
            row[f] = analyze(fields.get(f) or "")
        row["_raw"] = " ".join(tokens(" ".join(str(fields.get(f) or "") for f in self.fields)))
        return row

    def _weight_letters(self) -> dict[str, str]:
        order = sorted(self.fields, key=lambda f: -self.fields[f])
        return {f: _PG_WEIGHT_LETTERS[min(i, 3)] for i, f in enumerate(order)}

    def _insert_sql(self, dialect: str) -> str:
        cols = list(self.fields)
        if dialect == "sqlite":
            return (f"INSERT INTO {self.table} (doc_id, {', '.join(cols)}) "
                    f"VALUES (:doc_id, {', '.join(':' + c for c in cols)})")
        letters = self._weight_letters()
        tsv = " || ".join(f"setweight(to_tsvector('simple', :{c}), '{letters[c]}')" for c in cols)
        tsv += (" || setweight(to_tsvector('dutch', :_raw), 'D')"
                " || setweight(to_tsvector('english', :_raw), 'D')")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
        return (f"INSERT INTO {self.table} (doc_id, {', '.join(cols)}, tsv) "
                f"VALUES (:doc_id, {', '.join(':' + c for c in cols)}, {tsv}) "
                f"ON CONFLICT (doc_id) DO UPDATE SET {updates}, tsv = EXCLUDED.tsv")

    @staticmethod
    def _dialect(session: AsyncSession) -> str:
        return session.get_bind().dialect.name

    async def rebuild(self, session: AsyncSession, docs: Iterable[tuple[str, Mapping[str, str]]]
                      | AsyncIterable[tuple[str, Mapping[str, str]]], *, batch: int = 2000) -> int:
        """Replace the whole index with `docs` ((id, {field: text}) pairs; an async iterable
        lets the caller stream a big table instead of holding it). Returns the count."""
        dialect = self._dialect(session)
        await session.execute(text(f"DELETE FROM {self.table}"))
        sql = text(self._insert_sql(dialect))
        rows: list[dict] = []
        count = 0
        async for doc_id, fields in _aiter(docs):
            row = self._row(doc_id, fields)
            if dialect == "sqlite":
                row.pop("_raw")
            rows.append(row)
            if len(rows) >= batch:
                await session.execute(sql, rows)
                count += len(rows)
                rows = []
        if rows:
            await session.execute(sql, rows)
            count += len(rows)
        await self._set_version(session)
        self._count_cache = None
        return count

    @property
    def _version_key(self) -> str:
        return f"search.version:{self.table}"

    async def _set_version(self, session: AsyncSession) -> None:
        await session.execute(text("DELETE FROM kv WHERE key = :k"), {"k": self._version_key})
        await session.execute(text("INSERT INTO kv (key, value) VALUES (:k, :v)"),
                              {"k": self._version_key, "v": self.version})

    async def needs_rebuild(self, session: AsyncSession) -> bool:
        """True when the index was built by another version of the analysis or of the
        caller's documents (or never): call at start-up and rebuild."""
        stored = (await session.execute(text("SELECT value FROM kv WHERE key = :k"),
                                        {"k": self._version_key})).scalar_one_or_none()
        return stored != self.version

    async def upsert(self, session: AsyncSession, doc_id: str, fields: Mapping[str, str]) -> None:
        self._count_cache = None
        dialect = self._dialect(session)
        row = self._row(doc_id, fields)
        if dialect == "sqlite":
            row.pop("_raw")
            await session.execute(text(f"DELETE FROM {self.table} WHERE doc_id = :doc_id"), {"doc_id": str(doc_id)})
        await session.execute(text(self._insert_sql(dialect)), row)

    async def delete(self, session: AsyncSession, doc_id: str) -> None:
        self._count_cache = None
        await session.execute(text(f"DELETE FROM {self.table} WHERE doc_id = :doc_id"), {"doc_id": str(doc_id)})

    async def count(self, session: AsyncSession) -> int:
        return (await session.execute(text(f"SELECT count(*) FROM {self.table}"))).scalar_one()

    # ------------------------------------------------------------------ querying
    def plan(self, query: str) -> list[Group]:
        """The query as word groups: each content word with its stems, prefix terms and the
        synonym tags (topics) it stands for. Kept per query: the vocabularies it reads
        (topics, bilingual pairs, the compound lexicon) are loaded once per process, and a
        chat asks the same few things again and again."""
        key = (query, compounds.MODE)
        cached = self._plans.get(key)
        if cached is not None:
            return list(cached)
        groups = self._plan(query)
        if len(self._plans) >= PLAN_CACHE:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = tuple(groups)
        return groups

    def _plan(self, query: str) -> list[Group]:
        words = content_words((query or "")[:MAX_QUERY_CHARS])
        syn = self.synonyms(words) if self.synonyms and words else [[] for _ in words]
        trans = bilingual.translations(words) if words else []
        groups = []
        for w, tags, tr in zip(words, syn, trans):
            tag_stems = tuple(dict.fromkeys(s for t in tags for s in stems(t)))
            parts = [p for p in w.split("-") if p not in STOPWORDS] or [w]
            exact = tuple(dict.fromkeys(s for p in parts for s in stems(p)))
            pre = tuple(dict.fromkeys(x for p in parts for x in prefixes(p)))
            # Translations (bilingual vocabulary): one word -> its stems count as the word;
            # several words ("district heating") -> all of them in one field.
            one = tuple(dict.fromkeys(s for term in tr if len(term) == 1 for s in stems(term[0])
                                      if s not in exact))
            alts = [tuple(stems(x) for x in term) for term in tr if len(term) > 1]
            # A Dutch compound typed whole also matches its parts side by side in a record
            # written apart ("funderingsschade" -> fundering ... schade).
            # Only for a compound that is no common word in its own right ("waterstof" is
            # hydrogen, not water and dust).
            if len(parts) == 1 and parts[0] not in compounds.lexicon() and (split := compounds.split(parts[0])):
                alts.append(tuple(stems(x) for x in split))
            groups.append(Group(w, exact, pre, tag_stems, all(is_weak(p) for p in parts), one,
                                tuple(dict.fromkeys(alts))))
        return groups

    def _extra(self, query: str, groups: list[Group]) -> list[tuple[str, ...]]:
        """Old-style `expand` phrases: optional OR alternatives, not counted in coverage."""
        if not self.expand:
            return []
        seen = {s for g in groups for s in (*g.exact, *g.tags, *g.trans)}
        extra = []
        for phrase in self.expand(query)[:50]:
            for g in query_terms(phrase):
                if not seen.intersection(g):
                    seen.update(g)
                    extra.append(g)
        return extra[:MAX_QUERY_TERMS]

    @staticmethod
    def _fts_group(alts: Iterable[str], prefixes_: Iterable[str] = (),
                   conj: Iterable[tuple[tuple[str, ...], ...]] = ()) -> str:
        parts = [_quote(s) for s in alts] + [_quote(p) + "*" for p in prefixes_]
        for words in conj:
            ands = [(f"({' OR '.join(_quote(s) for s in w)})" if len(w) > 1 else _quote(w[0])) for w in words]
            parts.append(f"({' AND '.join(ands)})")
        return f"({' OR '.join(parts)})" if len(parts) > 1 else parts[0]

    def _part(self, g: "Group") -> str:
        return self._fts_group((*g.exact, *g.tags, *g.trans), g.prefixes, g.alts)

    def expressions(self, query: str) -> tuple[str | None, str | None, list[str]]:
        """(AND expression, OR expression, content words) in FTS5 syntax (PostgreSQL gets
        the same structure as a tsquery). None when the query has no content words."""
        groups = self.plan(query)
        extra = self._extra(query, groups)
        if not groups and not extra:
            return None, None, []
        parts = [self._part(g) for g in groups]
        and_expr = " AND ".join(parts) if len(parts) > 1 else None
        or_expr = " OR ".join([*parts, *(self._fts_group(e) for e in extra)])
        return and_expr, or_expr, [g.word for g in groups]

    async def search(self, session: AsyncSession, query: str, lang: str | None = None, limit: int = 20,
                     ids_filter: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Documents matching `query` above the relevance floor, best first, as
        (doc_id, score) with 0 < score <= 2 (coverage + strength, see `hits`)."""
        return [(h.doc_id, h.score) for h in await self.hits(session, query, limit=limit, ids_filter=ids_filter)]

    async def hits(self, session: AsyncSession, query: str, *, limit: int = 20,
                   ids_filter: Collection[str] | None = None, trace: list | None = None,
                   relaxed: bool = False) -> list[Hit]:
        """Ranked hits with their coverage (idf-weighted share of the query's words a
        document contains: its words, their compounds, or a topic they name) and strength
        (bm25 / ts_rank relative to the best candidate). Documents under the relevance floor
        -- matching only a minor part of the query, or only short numbers -- are left out.
        `trace`, if given, receives every statement run as (kind, expression, row limit),
        for benchmarks that repeat the same database work without the engine.
        `relaxed`: no relevance floor -- any document matching one real word of the query
        (for "no exact match; closest: ..." answers)."""
        if (ids_filter is not None and not ids_filter) or limit <= 0:
            return []
        groups = self.plan(query)
        extra = self._extra(query, groups)
        if not groups:
            return []
        dialect = self._dialect(session)
        ids = sorted(set(map(str, ids_filter))) if ids_filter is not None else None
        parts = [self._part(g) for g in groups]
        pool = max(limit * 4, 100)
        trace = trace if trace is not None else []
        candidates: dict[str, tuple[float, tuple[str, ...]]] = {}
        # When the pool can hold every document (a hub's own data, a filtered list), the OR
        # statement returns every match and the AND statement would only repeat part of it.
        small = len(ids) <= pool if ids is not None else await self._total(session, trace) <= pool
        if len(parts) > 1 and not small:
            trace.append(("rows", " AND ".join(parts), pool))
            for d, s, body in await self._run(session, dialect, " AND ".join(parts), ids, pool):
                candidates[d] = (s, body)
        complete = False   # True: the candidates are every document that matches any word
        if len(candidates) < pool:
            # Documents with only some of the words: needed unless those with all of them
            # already fill the pool (then partial matches could not reach the top anyway).
            or_expr = " OR ".join([*parts, *(self._fts_group(e) for e in extra)])
            trace.append(("rows", or_expr, pool))
            found = await self._run(session, dialect, or_expr, ids, pool)
            # (SQLite only: PostgreSQL's tsvector also holds stemmed words the fields lack.)
            complete = dialect == "sqlite" and ids is None and len(found) < pool
            for d, s, body in found:
                if d not in candidates or candidates[d][0] < s:
                    candidates[d] = (s, body)
        if not candidates:
            return []
        # Per field of each candidate: occurrences of each query word, looked up in the
        # field's term index (kept across queries) rather than by scanning its terms.
        docs = {d: [_field_terms(f) for f in texts] for d, (_, texts) in candidates.items()}
        counts = {d: [[ft.count(g) for g in groups] for ft in field_terms] for d, field_terms in docs.items()}
        # Word weights: rare words decide more than common ones ("gemeenten" is everywhere);
        # a word absent from the index weighs most (nonsense next to a real word stays nonsense).
        # Only needed when some candidate lacks a word (else every coverage is 1).
        if len(groups) > 1 and any(
                not all(any(fc[i] for fc in doc_counts) for i in range(len(groups)))
                for doc_counts in counts.values()):
            total = await self._total(session, trace)
            weights = []
            for g, expr in zip(groups, parts):
                # Rarity from the word itself (its stems, prefixes, topics, one-word
                # translations); its parts side by side only when the word itself is nowhere:
                # "jaarevent" is as rare as "jaarevent", not as "jaar ... event".
                core = self._fts_group((*g.exact, *g.tags, *g.trans), g.prefixes) if g.alts else expr
                if complete:
                    # Every document with the word is a candidate: count them here, not again in SQL.
                    bare = replace(g, alts=()) if g.alts else g
                    df = sum(1 for field_terms in docs.values() if any(ft.count(bare) for ft in field_terms))
                else:
                    trace.append(("count", core, 0))
                    df = await self._df(session, dialect, core)
                if not df and core != expr:
                    trace.append(("count", expr, 0))
                    df = await self._df(session, dialect, expr)
                w = math.log(1 + total / max(df, 0.5))
                # A word that names a topic outweighs a generic one ("klimaat gemeenten").
                weights.append(w * (0.25 if g.weak else 2.0 if g.tags else 1.0))
        else:
            weights = [1.0] * len(groups)
        wsum = sum(weights) or 1.0
        floor = 0.0 if relaxed else min(MIN_COVERAGE, 2 / (len(groups) + 1))
        fields = list(self.fields)
        avg = [max(1.0, sum(v[i].length for v in docs.values()) / len(docs)) for i in range(len(fields))]
        scored = []
        for d, field_terms in docs.items():
            doc_counts = counts[d]
            matched = [any(fc[i] for fc in doc_counts) for i in range(len(groups))]
            if not any(m and not g.weak for m, g in zip(matched, groups)):
                continue
            coverage = sum(w for w, m in zip(weights, matched) if m) / wsum
            if coverage + 1e-9 < floor:
                continue
            scored.append((d, coverage, self._strength(weights, field_terms, doc_counts, avg)))
        if not scored:
            return []
        top = max(s for _, _, s in scored) or 1.0
        scored.sort(key=lambda x: (-(x[1] + max(1e-6, x[2] / top)), x[0]))
        out = []
        for d, c, s in scored[:limit]:
            matched = [any(fc) for fc in zip(*counts[d])]
            # Matched by its own words (or their translations and compounds) outside the
            # topic fields, not only by naming a topic the record has.
            literal = [m and any(docs[d][k].count(g, tags=False) for k in self._literal)
                       for g, m in zip(groups, matched)]
            lit = sum(w for w, m in zip(weights, literal) if m) / wsum
            out.append(Hit(d, c + max(1e-6, s / top), c, max(1e-6, s / top),
                           tuple(g.word for g, m in zip(groups, matched) if m), lit))
        return out

    async def clear_match(self, session: AsyncSession, query: str, *, said: str = "",
                          ids_filter: Collection[str] | None = None) -> float:
        """How clearly a plain sentence matches one document by the strict rule: the best
        coverage among the documents that hold at least CLEAR_WORDS of its (not weak) content
        words and CLEAR_COVERAGE of them by weight; 0.0 when none does. For the fallback that
        answers a question nothing else understood with a search (issue 18). `said`: the
        sentence as typed, when `query` is the caller's reading of it (code in it: 0.0)."""
        if _CODE.search(query or "") or _CODE.search(said or ""):
            return 0.0
        weak = {g.word for g in self.plan(query) if g.weak}
        best = 0.0
        for h in await self.hits(session, query, limit=20, ids_filter=ids_filter):
            if h.coverage + 1e-9 >= CLEAR_COVERAGE and len([w for w in h.matched if w not in weak]) >= CLEAR_WORDS:
                best = max(best, h.coverage)
        return best

    async def closest(self, session: AsyncSession, query: str, vocabulary: Iterable[str] = (), *,
                      limit: int = 20, ids_filter: Collection[str] | None = None) -> "Closest":
        """For a query the strict rule finds nothing for: the closest documents, those that
        match some of its words, after reading each word absent from the index as the
        nearest `vocabulary` word that is present (a typo: "klimaatadaptaite"). Also says
        which words were not found. Nothing when no word (or correction) is in the index,
        or when the query looks like code (SQL, markup): nonsense and injection stay nothing."""
        groups = self.plan(query)
        if not groups or (ids_filter is not None and not ids_filter) or _CODE.search(query or ""):
            return Closest([], [], {})
        dialect = self._dialect(session)
        dfs = [await self._df(session, dialect, self._part(g)) for g in groups]
        present = [df > 0 for df in dfs]
        vocab = None
        corrected: dict[str, str] = {}
        words = []
        for g, ok in zip(groups, present):
            # A real word the data lacks ("gemeentehuis") is not a typo: it is named as not
            # found rather than read as its nearest neighbour ("gemeente").
            if (ok or g.weak or "-" in g.word or not g.word.isalpha() or len(g.word) < MIN_FUZZY
                    or compounds.is_known_word(g.word)):
                words.append(g.word)
                continue
            if vocab is None:
                vocab = sorted({w for w in vocabulary if len(w) >= MIN_FUZZY - 1})
            fix = None
            for cand, score, _ in process.extract(g.word, vocab, scorer=fuzz.ratio, limit=3,
                                                 score_cutoff=FUZZY_CUTOFF):
                plan = self.plan(cand)
                if plan and await self._df(session, dialect, self._part(plan[0])) > 0:
                    fix = cand
                    break
            if fix:
                corrected[g.word] = fix
                words.append(fix)
                dfs[len(words) - 1] = await self._df(session, dialect, self._part(self.plan(fix)[0]))
            else:
                words.append(g.word)
        missing = [g.word for g, ok in zip(groups, present) if not ok and g.word not in corrected]
        if not any(df and not g.weak for g, df in zip(groups, dfs)):
            return Closest([], missing, {})
        hits = await self.hits(session, " ".join(words), limit=limit, ids_filter=ids_filter, relaxed=True)
        return Closest(hits, missing, corrected)

    def _strength(self, weights: list[float], field_terms: list["_FieldTerms"], doc_counts: list[list[int]],
                  avg: list[float], k1: float = 1.2, b: float = 0.75) -> float:
        """BM25 over word groups: a token counts once for its group however many synonyms
        of the word it matches (so a document listing many topics gains nothing from it),
        with the field weights and length normalisation per field."""
        total = 0.0
        for i, w in enumerate(weights):
            for fw, terms, fc, a in zip(self.fields.values(), field_terms, doc_counts, avg):
                tf = fc[i]
                if tf:
                    total += w * fw * tf * (k1 + 1) / (tf + k1 * (1 - b + b * terms.length / a))
        return total

    async def _total(self, session: AsyncSession, trace: list) -> int:
        """Documents in the index, for idf. Counting an FTS5 table scans it, so the figure is
        kept for a few minutes (idf hardly moves; writes through this object reset it)."""
        now = time.monotonic()
        if self._count_cache is None or now - self._count_cache[1] > COUNT_TTL:
            trace.append(("count", "", 0))
            self._count_cache = (await self.count(session), now)
        return self._count_cache[0]

    async def _df(self, session, dialect, expr: str) -> int:
        if dialect == "sqlite":
            sql, params = f"SELECT count(*) FROM {self.table} WHERE {self.table} MATCH :q", {"q": expr}
        else:
            sql, params = (f"SELECT count(*) FROM {self.table} WHERE tsv @@ to_tsquery('simple', :q)",
                           {"q": _tsquery(expr)})
        return (await session.execute(text(sql), params)).scalar_one()

    async def _run(self, session, dialect, expr, ids, limit) -> list[tuple[str, float, tuple[str, ...]]]:
        """(doc_id, rank, analysed text per field) of the best `limit` matches."""
        params: dict = {"limit": int(limit)}
        cols = ", ".join(self.fields)
        if dialect == "sqlite":
            weights = ", ".join(["0", *(repr(float(w)) for w in self.fields.values())])
            where = f"{self.table} MATCH :q"
            params["q"] = expr
            if ids is not None:
                where += " AND doc_id IN (SELECT value FROM json_each(:ids))"
                params["ids"] = json.dumps(ids)
            sql = (f"SELECT doc_id, bm25({self.table}, {weights}) AS r, {cols} FROM {self.table} "
                   f"WHERE {where} ORDER BY r LIMIT :limit")
            rows = (await session.execute(text(sql), params)).all()
            return [(row[0], -row[1], tuple(x or "" for x in row[2:])) for row in rows]
        params["q"] = _tsquery(expr)
        maxw = max(self.fields.values())
        letters = self._weight_letters()
        by_letter = {letters[f]: self.fields[f] / maxw for f in self.fields}
        weights = "{" + ",".join(str(by_letter.get(L, 0.1)) for L in "DCBA") + "}"
        where = "tsv @@ q.query"
        if ids is not None:
            where += " AND doc_id = ANY(:ids)"
            params["ids"] = ids
        sql = (f"SELECT doc_id, ts_rank('{weights}'::float4[], tsv, q.query) AS r, {cols} "
               f"FROM {self.table}, (SELECT to_tsquery('simple', :q) AS query) AS q WHERE {where} "
               f"ORDER BY r DESC, doc_id LIMIT :limit")
        rows = (await session.execute(text(sql), params)).all()
        return [(row[0], float(row[1]), tuple(x or "" for x in row[2:])) for row in rows]


class _FieldTerms:
    """One analysed field: where each term occurs, and its terms sorted (for prefixes)."""
    __slots__ = ("length", "positions", "sorted")

    def __init__(self, analysed: str):
        terms = analysed.split()
        self.length = len(terms)
        self.positions: dict[str, list[int]] = {}
        for i, t in enumerate(terms):
            self.positions.setdefault(t, []).append(i)
        self.sorted = sorted(self.positions)

    def count(self, g: "Group", tags: bool = True) -> int:
        """Occurrences of the word: runs of adjacent hits count once (a word's stems sit
        side by side in the index, en and nl), as Group.count does over the term list.
        `tags=False`: only the word itself, its translations and compounds (not the topics
        it names)."""
        pos = self.positions
        found = [pos[t] for t in (g.terms if tags else g.own_terms) if t in pos]
        if g.prefixes:
            srt = self.sorted
            for p in g.prefixes:
                i = bisect_left(srt, p)
                while i < len(srt) and srt[i].startswith(p):
                    found.append(pos[srt[i]])
                    i += 1
        if not found:
            n = 0
        elif len(found) == 1:   # the common case: one term; its positions are ascending
            at = found[0]
            n = 1 + sum(1 for k in range(1, len(at)) if at[k - 1] != at[k] - 1)
        else:
            hits = set().union(*found)
            n = sum(1 for x in hits if x - 1 not in hits)
        for words in g.alts:   # several words, all in this field: as often as the rarest
            least = None
            for w in words:
                c = sum(len(pos[s]) for s in w if s in pos)
                least = c if least is None else min(least, c)
                if not c:
                    break
            n += least or 0
        return n


async def _aiter(docs):
    if hasattr(docs, "__aiter__"):
        async for doc in docs:
            yield doc
    else:
        for doc in docs:
            yield doc


@lru_cache(maxsize=2048)   # bounded: with 100,000 instruments each query brings new candidates
def _field_terms(analysed: str) -> _FieldTerms:
    return _FieldTerms(analysed)


def _tsquery(expr: str) -> str:
    """FTS5 expression (built above from quoted [a-z0-9] terms) -> PostgreSQL tsquery."""
    expr = re.sub(r'"([a-z0-9]+)"\*', r"'\1':*", expr)
    return expr.replace(" AND ", " & ").replace(" OR ", " | ").replace('"', "'")


@dataclass(frozen=True)
class Group:
    """One query word: exact stems, prefix terms (compounds) and topic tags it stands for."""
    word: str
    exact: tuple[str, ...]
    prefixes: tuple[str, ...]
    tags: tuple[str, ...]
    weak: bool
    trans: tuple[str, ...] = ()                       # stems of one-word translations
    alts: tuple[tuple[tuple[str, ...], ...], ...] = ()  # several words, each as its stems
    # Looked up for every field of every candidate: built once, not per lookup.
    terms: tuple[str, ...] = field(init=False, compare=False, repr=False)
    own_terms: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_terms", (*self.exact, *self.trans))
        object.__setattr__(self, "terms", (*self.exact, *self.tags, *self.trans))

    def hit(self, term: str) -> bool:
        return (term in self.exact or term in self.tags or term in self.trans
                or bool(self.prefixes and term.startswith(self.prefixes)))

    def matches(self, terms: list[str]) -> bool:
        return any(self.hit(t) for t in terms)

    def count(self, terms: list[str]) -> int:
        """Occurrences of the word in `terms`; a word's stems sit side by side in the index
        (en, nl), so adjacent hits count once."""
        n, prev = 0, False
        for t in terms:
            h = self.hit(t)
            n += h and not prev
            prev = h
        return n


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float      # coverage + strength, 0 < score <= 2
    coverage: float   # 0..1: idf-weighted share of the query's words this document matches
    strength: float   # 0..1: bm25 / ts_rank relative to the best candidate
    matched: tuple[str, ...] = ()   # the query's content words this document matches
    literal: float = 0.0            # coverage by the words themselves (not by topics they name)


@dataclass(frozen=True)
class Closest:
    """SearchIndex.closest: the nearest documents, the query's words found nowhere, and the
    words read as another (typo -> word in the data)."""
    hits: list[Hit]
    missing: list[str]
    corrected: dict[str, str]
