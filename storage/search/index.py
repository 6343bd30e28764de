"""SearchIndex: one full-text table per capability, on SQLite FTS5 or PostgreSQL."""
from __future__ import annotations

import json
import re
from typing import Callable, Collection, Iterable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.search.text import MAX_QUERY_CHARS, MAX_QUERY_TERMS, analyze, query_terms, tokens

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_WEIGHT_LETTERS = "ABCD"


def _quote(stem: str) -> str:
    # Stems are [a-z0-9]+ by construction; the assert is the last wall before MATCH/to_tsquery.
    assert re.fullmatch(r"[a-z0-9]+", stem), stem
    return f'"{stem}"'


class SearchIndex:
    """A full-text index named `table` over `fields` (name -> weight, > 0).

    `expand(query_text) -> list[str]`: optional synonym expansion; the returned phrases are
    analysed like the query and OR-ed in as optional terms."""

    def __init__(self, table: str, fields: Mapping[str, float],
                 expand: Callable[[str], list[str]] | None = None):
        if not _IDENT.match(table) or not fields or not all(_IDENT.match(f) for f in fields):
            raise ValueError("table and field names must be simple lower-case identifiers")
        if "doc_id" in fields or any(w <= 0 for w in fields.values()):
            raise ValueError("'doc_id' is reserved and weights must be > 0")
        self.table = table
        self.fields = dict(fields)
        self.expand = expand

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

    async def rebuild(self, session: AsyncSession, docs: Iterable[tuple[str, Mapping[str, str]]],
                      *, batch: int = 2000) -> int:
        """Replace the whole index with `docs` ((id, {field: text}) pairs). Returns the count."""
        dialect = self._dialect(session)
        await session.execute(text(f"DELETE FROM {self.table}"))
        sql = text(self._insert_sql(dialect))
        rows: list[dict] = []
        count = 0
        for doc_id, fields in docs:
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
        return count

    async def upsert(self, session: AsyncSession, doc_id: str, fields: Mapping[str, str]) -> None:
        dialect = self._dialect(session)
        row = self._row(doc_id, fields)
        if dialect == "sqlite":
            row.pop("_raw")
            await session.execute(text(f"DELETE FROM {self.table} WHERE doc_id = :doc_id"), {"doc_id": str(doc_id)})
        await session.execute(text(self._insert_sql(dialect)), row)

    async def delete(self, session: AsyncSession, doc_id: str) -> None:
        await session.execute(text(f"DELETE FROM {self.table} WHERE doc_id = :doc_id"), {"doc_id": str(doc_id)})

    async def count(self, session: AsyncSession) -> int:
        return (await session.execute(text(f"SELECT count(*) FROM {self.table}"))).scalar_one()

    # ------------------------------------------------------------------ querying
    def expressions(self, query: str) -> tuple[str | None, str | None, list[str]]:
        """(AND expression, OR expression, raw words) in FTS5 syntax; tsquery uses the
        same structure with &/|. None when the query has no content words."""
        query = (query or "")[:MAX_QUERY_CHARS]
        groups = query_terms(query)
        extra: list[tuple[str, ...]] = []
        if self.expand:
            seen = set(groups)
            for phrase in self.expand(query)[:50]:
                for g in query_terms(phrase):
                    if g not in seen:
                        seen.add(g)
                        extra.append(g)
        extra = extra[:MAX_QUERY_TERMS]
        if not groups and not extra:
            return None, None, []
        def grp(g, op):
            inner = f" {op} ".join(_quote(s) for s in g)
            return f"({inner})" if len(g) > 1 else inner
        and_expr = " AND ".join(grp(g, "OR") for g in groups) if len(groups) > 1 else None
        or_expr = " OR ".join(grp(g, "OR") for g in [*groups, *extra])
        raw = [w for w in tokens(query)[:MAX_QUERY_TERMS]]
        return and_expr, or_expr, raw

    async def search(self, session: AsyncSession, query: str, lang: str | None = None, limit: int = 20,
                     ids_filter: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Documents matching `query`, best first, as (doc_id, score) with 0 < score <= 2."""
        if ids_filter is not None and not ids_filter:
            return []
        and_expr, or_expr, raw = self.expressions(query)
        if or_expr is None or limit <= 0:
            return []
        dialect = self._dialect(session)
        ids = sorted(set(map(str, ids_filter))) if ids_filter is not None else None
        results: list[tuple[str, float]] = []
        found: set[str] = set()
        if and_expr:
            part = await self._run(session, dialect, and_expr, None, ids, limit)
            results += [(d, 1.0 + s) for d, s in part]
            found.update(d for d, _ in part)
        if len(results) < limit:
            part = await self._run(session, dialect, or_expr, raw, ids, limit + len(found))
            results += [(d, s) for d, s in part if d not in found][:limit - len(results)]
        return results

    async def _run(self, session, dialect, expr, raw, ids, limit) -> list[tuple[str, float]]:
        params: dict = {"limit": int(limit)}
        if dialect == "sqlite":
            weights = ", ".join(["0", *(repr(float(w)) for w in self.fields.values())])
            where = f"{self.table} MATCH :q"
            params["q"] = expr
            if ids is not None:
                where += " AND doc_id IN (SELECT value FROM json_each(:ids))"
                params["ids"] = json.dumps(ids)
            sql = (f"SELECT doc_id, bm25({self.table}, {weights}) AS r FROM {self.table} "
                   f"WHERE {where} ORDER BY r LIMIT :limit")
            rows = (await session.execute(text(sql), params)).all()
            scored = [(d, -r) for d, r in rows]
        else:
            params["q"] = expr.replace(" AND ", " & ").replace(" OR ", " | ").replace('"', "'")
            tsq = "to_tsquery('simple', :q)"
            if raw:
                params["raw"] = " | ".join(raw)
                tsq = f"({tsq} || to_tsquery('dutch', :raw) || to_tsquery('english', :raw))"
            maxw = max(self.fields.values())
            letters = self._weight_letters()
            by_letter = {letters[f]: self.fields[f] / maxw for f in self.fields}
            weights = "{" + ",".join(str(by_letter.get(L, 0.1)) for L in "DCBA") + "}"
            where = "tsv @@ q.query"
            if ids is not None:
                where += " AND doc_id = ANY(:ids)"
                params["ids"] = ids
            sql = (f"SELECT doc_id, ts_rank('{weights}'::float4[], tsv, q.query) AS r "
                   f"FROM {self.table}, (SELECT {tsq} AS query) AS q WHERE {where} ORDER BY r DESC, doc_id LIMIT :limit")
            rows = (await session.execute(text(sql), params)).all()
            scored = [(d, float(r)) for d, r in rows]
        if not scored:
            return []
        top = max(s for _, s in scored) or 1.0
        return [(d, max(1e-6, s / top) if top > 0 else 1e-6) for d, s in scored]
