"""Memory of the bot's process with the bundled data and with N generated funding
instruments (default 100,000), each after answering the same searches, next to a bare
Python process that has only imported the bot (the floor):

    python bench/bench_rss.py [--n 100000]

Each measurement runs in a fresh process (`--child`), so one does not inherit the other's
heap."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, row, rss_mib  # noqa: E402

QUERIES = ["!funding klimaat", "!funding energie gemeenten", "!deadlines", "!labs energie", "!knowledge hitte"]


async def child(n: int) -> dict:
    from sqlalchemy import insert

    from bot.app import build_services
    from bot.framework.dispatcher import Dispatcher
    from bot.framework.messages import Incoming
    from config.settings import load_settings
    from storage import topics
    from storage.funding.records import load_bundled
    from storage.funding.models import FundingInstrument

    tmp = tempfile.mkdtemp(prefix="bench-rss-")
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = tmp
    settings = load_settings()
    settings.storage.load_sample_data = True
    settings.bot.rate_limit_count = 10**6
    services = await build_services(settings, bot_user_id="@bot:bench")
    if n:
        rnd = random.Random(7)
        recs = load_bundled()
        words = sorted({w for r in recs for w in " ".join(filter(None, [r.title, r.summary])).split() if w.isalpha()})
        ids = topics.ids()
        def generated(start: int, stop: int) -> list[dict]:
            return [dict(id=f"gen-{i}", title=" ".join(rnd.choices(words, k=rnd.randint(4, 10))), level="national",
                         summary=" ".join(rnd.choices(words, k=rnd.randint(30, 80))), themes=rnd.sample(ids, 2),
                         eligible_applicants=["municipality"], deadlines=[], origin="bench")
                    for i in range(start, stop)]
        # Generated 5,000 at a time (the same rows as all at once): the peak is the bot's, not
        # this script's 100,000 dictionaries.
        async with services.db.transaction() as s:
            for i in range(0, n, 5000):
                await s.execute(insert(FundingInstrument), generated(i, min(n, i + 5000)))
        # Indexed as the bot indexes after an import (storage.funding.records.reindex).
        from storage.funding.records import reindex
        async with services.db.transaction() as s:
            await reindex(s)
    dispatcher = Dispatcher(services)
    per: dict[str, float] = {}
    for i, q in enumerate(QUERIES * 3):
        t = time.perf_counter()
        await dispatcher.handle(Incoming(sender="@u:bench", room_id="!r:bench", event_id=f"$e{i}", body=q,
                                         is_direct=True))
        per[q] = (time.perf_counter() - t) * 1000   # the last of three
    answer_s = sum(per.values()) / len(per) / 1000
    print(json.dumps(per), file=sys.stderr)
    await services.db.dispose()
    return {"rss": rss_mib(), "peak": rss_mib(field="VmHWM"), "answer_ms": answer_s * 1000}


def floor() -> dict:
    import bot.app  # noqa: F401  (everything the bot imports, nothing loaded)
    import commands  # noqa: F401
    return {"rss": rss_mib(), "peak": rss_mib(field="VmHWM")}


def measure(mode: str, n: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(n)], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    print(mode, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        result = floor() if args.child == "floor" else asyncio.run(child(args.n if args.child == "big" else 0))
        print(json.dumps(result))
        return
    base, bundled, big = measure("floor"), measure("bundled"), measure("big", args.n)
    print(f"{'process':48} {'RSS MiB':>8} {'peak MiB':>9} {'answer ms':>10}")
    print(f"{'python + bot imported, nothing loaded (floor)':48} {base['rss']:8.1f} {base['peak']:9.1f}")
    print(f"{'bundled data, after 15 answers':48} {bundled['rss']:8.1f} {bundled['peak']:9.1f} {bundled['answer_ms']:10.1f}")
    print(f"{f'+{args.n:,} instruments, after 15 answers':48} {big['rss']:8.1f} {big['peak']:9.1f} {big['answer_ms']:10.1f}")
    emit("rss", [
        row("RSS with the bundled data", bundled["rss"], "MiB", "python + bot imported", base["rss"]),
        row(f"RSS with {args.n:,} funding instruments", big["rss"], "MiB", "python + bot imported", base["rss"],
            note=f"peak {big['peak']:.0f} MiB while indexing"),
    ])


if __name__ == "__main__":
    main()
