"""Search latency over N generated funding instruments on SQLite (default 100,000).

Generates instruments by mixing words from the bundled records and topic aliases, indexes
them with storage.funding.records.FUNDING_INDEX, then measures for the same queries:
  - engine: FUNDING_INDEX.search() (tokenize + stem + prefix terms for Dutch compounds + topic
    synonyms per word, AND and OR passes, document frequencies for the relevance floor,
    group-wise BM25 in Python; via SQLAlchemy async)
  - raw FTS5: exactly the same SQL statements (as traced by FUNDING_INDEX.hits(): the same MATCH
    expressions with prefix terms, the same row limits and field columns, the same counts) run
    directly with sqlite3 -- the database's share of the work, without the engine's Python
and prints p50/p99 in milliseconds.

    python bench/bench_search.py [--n 100000] [--rounds 20]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, pct, row  # noqa: E402
from bot.progress import Progress  # noqa: E402
from storage import topics  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.funding.records import FUNDING_INDEX, load_bundled  # noqa: E402

QUERIES = ["klimaatadaptatie", "circular economy", "adapting to heat", "digitale tweeling gemeenten",
           "soil health living labs", "energietransitie warmtenet", "public transport rural", "woningbouw",
           "innovatie dienstverlening overheid", "biodiversiteit natuurherstel provincie",
           "klimaat", "energie", "klimaat gemeenten"]   # one-word compound heads: prefix matching


def generate(n: int, seed: int = 7):
    rnd = random.Random(seed)
    recs = load_bundled()
    words = sorted({w for r in recs for w in " ".join(filter(None, [r.title, r.title_nl, r.summary,
                                                                    r.summary_nl])).split() if w.isalpha()})
    topic_ids = topics.ids()
    for i in range(n):
        title = " ".join(rnd.choices(words, k=rnd.randint(4, 10)))
        body = " ".join(rnd.choices(words, k=rnd.randint(30, 80)))
        themes = rnd.sample(topic_ids, rnd.randint(1, 3))
        yield f"gen-{i}", {"title": title, "topics": topics.index_text(themes), "body": body}



async def main(n: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-funding-"))
    path = tmp / "bench.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    t0 = time.perf_counter()
    async with db.transaction() as s:
        await FUNDING_INDEX.rebuild(s, generate(n))
    build = time.perf_counter() - t0
    engine: dict[str, list[float]] = {q: [] for q in QUERIES}
    raw: dict[str, list[float]] = {q: [] for q in QUERIES}
    con = sqlite3.connect(path)
    weights = ", ".join(["0", *(repr(float(w)) for w in FUNDING_INDEX.fields.values())])
    cols = ", ".join(FUNDING_INDEX.fields)
    rows_sql = (f"SELECT doc_id, bm25(funding_search, {weights}) AS r, {cols} FROM funding_search "
                f"WHERE funding_search MATCH ? ORDER BY r LIMIT ?")
    count_sql = "SELECT count(*) FROM funding_search WHERE funding_search MATCH ?"
    hits: dict[str, int] = {}
    async with db.session() as s:
        await FUNDING_INDEX.search(s, "warm up", limit=20)
        with Progress("rounds", unit="rounds", total=rounds) as bar:  # on a terminal only, outside the timings
            for _ in range(rounds):
                bar(1)
                for q in QUERIES:
                    statements: list = []
                    t = time.perf_counter()
                    hits[q] = len(await FUNDING_INDEX.hits(s, q, limit=20, trace=statements))
                    engine[q].append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    for kind, expr, limit in statements:
                        if kind == "rows":
                            con.execute(rows_sql, (expr, limit)).fetchall()
                        elif expr:
                            con.execute(count_sql, (expr,)).fetchone()
                        else:
                            con.execute("SELECT count(*) FROM funding_search").fetchone()
                    raw[q].append((time.perf_counter() - t) * 1000)
    con.close()
    await db.dispose()
    print(f"SQLite {sqlite3.sqlite_version}, {n:,} generated instruments, index built in {build:.1f} s, "
          f"{rounds} rounds x {len(QUERIES)} queries, limit 20")
    print(f"{'query':40} {'hits':>5} {'engine p50':>10} {'engine p99':>10} {'raw FTS5 p50':>12} {'raw FTS5 p99':>12}")
    for q in QUERIES:
        print(f"{q:40} {hits[q]:5d} {pct(engine[q], 50):10.2f} {pct(engine[q], 99):10.2f} {pct(raw[q], 50):12.2f} "
              f"{pct(raw[q], 99):12.2f}")
    all_e = [v for q in QUERIES for v in engine[q]]
    all_r = [v for q in QUERIES for v in raw[q]]
    print(f"{'ALL (ms)':40} {'':5} {pct(all_e, 50):10.2f} {pct(all_e, 99):10.2f} {pct(all_r, 50):12.2f} {pct(all_r, 99):12.2f}")
    print("engine = FUNDING_INDEX.hits; raw = the same statements (traced from the engine) run directly with sqlite3")
    emit("search", [
        row(f"funding search over {n:,} instruments", pct(all_e, 50), "ms p50", "raw FTS5, same statements",
            pct(all_r, 50)),
        row(f"funding search over {n:,} instruments", pct(all_e, 99), "ms p99", "raw FTS5, same statements",
            pct(all_r, 99)),
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    asyncio.run(main(a.n, a.rounds))
