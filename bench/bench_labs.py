"""Living-labs search latency over N generated labs on SQLite (default 50,000).

Generates labs spread over real Dutch municipalities (gazetteer points with a few km of
jitter), with themes, facilities and descriptions mixed from the bundled records, indexes
them with storage.labs.records.LABS_INDEX, then measures for the same `--near` + theme queries:

  - engine:  storage.labs.records.search_labs() — parse place/radius/theme words, bounding box +
             haversine filter in SQL/Python, FTS (stems + topic synonyms, AND/OR passes) over
             the candidates, ranking, fetching the rows (SQLAlchemy async, aiosqlite)
  - raw SQL: one hand-written sqlite3 statement for the same thing: FTS5 MATCH with the
             final OR expression joined to labs with the bounding box, ORDER BY bm25, LIMIT
             (no Python analysis, no exact-radius check, no ranking by distance)

and prints a table of p50/p99 in milliseconds.

    python bench/bench_labs.py [--n 50000] [--rounds 20]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, pct, row  # noqa: E402

from sqlalchemy import insert  # noqa: E402

from bot.progress import Progress  # noqa: E402
from storage import topics  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.geo import bounding_box, gazetteer  # noqa: E402
from storage.labs.records import LABS_INDEX, load_bundled, parse_words, search_fields, search_labs  # noqa: E402
from storage.labs.models import Lab  # noqa: E402

# (query as typed after `!labs`) — every one has a --near place and theme words.
QUERIES = [
    "klimaatadaptatie near Zwolle within 50 km",
    "digital twin near Heerlen within 30 km",
    "energietransitie in de buurt van Groningen binnen 40 km",
    "smart mobility near Eindhoven within 25 km",
    "circulaire economie bij Amsterdam binnen 20 km",
    "healthy living air quality near Utrecht within 30 km",
    "digitale inclusie rond Rotterdam binnen 50 km",
    "soil biodiversity near Vlissingen within 60 km",
    "climate adaptation near Zwolle",          # no radius: distance-weighted ranking over all matches
    "data sensors near Den Bosch",
]



def generate(n: int, seed: int = 11):
    rnd = random.Random(seed)
    recs = load_bundled()
    words = sorted({w for r in recs for w in " ".join([r.name, r.description, r.description_nl]).split() if w.isalpha()})
    facilities = sorted({f for r in recs for f in r.facilities})
    munis = [p for p in gazetteer().places if p.kind == "municipality"]
    topic_ids = topics.ids()
    now = datetime.now(timezone.utc)
    for i in range(n):
        m = rnd.choice(munis)
        yield {
            "id": f"gen-{i}", "name": " ".join(rnd.choices(words, k=rnd.randint(2, 5))) + f" lab {i}",
            "host_organisation": "Gemeente " + m.name, "ecosystem": None, "municipality": m.name,
            "province": m.province, "latitude": m.latitude + rnd.uniform(-0.04, 0.04),
            "longitude": m.longitude + rnd.uniform(-0.06, 0.06),
            "themes": rnd.sample(topic_ids, rnd.randint(1, 3)), "facilities": rnd.sample(facilities, 3),
            "target_users": ["municipality"], "services": ["experimentation"], "enoll_member": False,
            "cost_note": None, "website": None, "contact": None,
            "description": " ".join(rnd.choices(words, k=rnd.randint(20, 50))),
            "description_nl": " ".join(rnd.choices(words, k=rnd.randint(20, 50))),
            "source": "generated", "last_checked": None, "updated_at": now,
        }


def raw_statement(query: str):
    """The single SQL statement and its parameters for the same query (prepared outside the timing)."""
    q = parse_words(query)
    _and, or_expr, _raw = LABS_INDEX.expressions(q.text)
    km = q.within_km or 400.0
    a, b, c, d = bounding_box(q.near.latitude, q.near.longitude, km)
    sql = ("SELECT l.id, l.name, l.latitude, l.longitude, bm25(labs_search, 0, 5.0, 3.0, 2.0, 1.0) AS r "
           "FROM labs_search JOIN labs l ON l.id = labs_search.doc_id "
           "WHERE labs_search MATCH ? AND l.latitude BETWEEN ? AND ? AND l.longitude BETWEEN ? AND ? "
           "ORDER BY r LIMIT 25")
    return sql, (or_expr, a, b, c, d)


async def main(n: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-labs-"))
    path = tmp / "bench.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    t0 = time.perf_counter()
    rows = list(generate(n))
    async with db.transaction() as s:
        for i in range(0, len(rows), 5000):
            await s.execute(insert(Lab), rows[i:i + 5000])
    async with db.transaction() as s:
        labs = [Lab(**{k: v for k, v in r.items()}) for r in rows]
        await LABS_INDEX.rebuild(s, ((lab.id, search_fields(lab)) for lab in labs))
    build = time.perf_counter() - t0
    print(f"generated and indexed {n:,} labs in {build:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")

    engine: dict[str, list[float]] = {q: [] for q in QUERIES}
    counts: dict[str, int] = {}
    async with db.session() as s:
        for q in QUERIES:                      # warm-up (caches, stemmer, page cache)
            counts[q] = len(await search_labs(s, parse_words(q), limit=25))
        with Progress("engine rounds", unit="rounds", total=rounds) as bar:  # on a terminal only, outside the timings
            for _ in range(rounds):
                bar(1)
                for q in QUERIES:
                    t = time.perf_counter()
                    await search_labs(s, parse_words(q), limit=25)
                    engine[q].append((time.perf_counter() - t) * 1000)
    await db.dispose()

    conn = sqlite3.connect(path)
    raw: dict[str, list[float]] = {q: [] for q in QUERIES}
    stmts = {q: raw_statement(q) for q in QUERIES}
    for q in QUERIES:
        conn.execute(*stmts[q]).fetchall()
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            conn.execute(*stmts[q]).fetchall()
            raw[q].append((time.perf_counter() - t) * 1000)
    conn.close()

    print(f"\n{rounds} rounds per query, SQLite, {n:,} labs; milliseconds\n")
    print(f"| {'query':<58} | hits | engine p50 | engine p99 | raw SQL p50 | raw SQL p99 |")
    print(f"|{'-' * 60}|------|------------|------------|-------------|-------------|")
    for q in QUERIES:
        print(f"| {q:<58} | {counts[q]:>4} | {pct(engine[q], 50):>10.1f} | {pct(engine[q], 99):>10.1f} | "
              f"{pct(raw[q], 50):>11.1f} | {pct(raw[q], 99):>11.1f} |")
    all_e = [v for vs in engine.values() for v in vs]
    all_r = [v for vs in raw.values() for v in vs]
    print(f"| {'ALL QUERIES':<58} |      | {pct(all_e, 50):>10.1f} | {pct(all_e, 99):>10.1f} | "
          f"{pct(all_r, 50):>11.1f} | {pct(all_r, 99):>11.1f} |")
    emit("labs", [
        row(f"lab search over {n:,} labs", pct(all_e, 50), "ms p50", "raw SQL, same query", pct(all_r, 50)),
        row(f"lab search over {n:,} labs", pct(all_e, 99), "ms p99", "raw SQL, same query", pct(all_r, 99)),
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(main(args.n, args.rounds))
