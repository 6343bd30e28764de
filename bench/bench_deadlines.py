"""`!deadlines` over N generated funding instruments (default 20,000), answered by the
dispatcher in-process (no Matrix), next to the way it worked before the deadline span
was stored: read every instrument and compute each one's deadlines in Python (the same
filter, same rows out):

    python bench/bench_deadlines.py [--n 20000] [--rounds 20]

The instruments get 0-3 deadlines spread from two years back to two years ahead, most of
them in the past, as live data has (closed calls stay findable)."""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, pct, row  # noqa: E402

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)


async def main_async(n: int, rounds: int) -> None:
    from sqlalchemy import insert, select

    from bot.app import build_services
    from bot.framework.dispatcher import Dispatcher
    from bot.framework.messages import Incoming
    from config.settings import load_settings
    from storage import topics
    from storage.funding.models import FundingInstrument
    from storage.funding.records import deadline_infos, resync_deadlines

    tmp = tempfile.mkdtemp(prefix="bench-deadlines-")
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = tmp
    settings = load_settings()
    settings.storage.load_sample_data = True
    settings.bot.rate_limit_count = 10**6
    services = await build_services(settings, bot_user_id="@bot:bench")
    services.clock = lambda: NOW
    rnd = random.Random(11)
    ids = topics.ids()

    def deadlines():
        out = []
        for _ in range(rnd.choice((0, 1, 1, 1, 2, 3))):
            at = NOW + timedelta(days=rnd.uniform(-730, 730))
            out.append({"at": at.replace(tzinfo=None, microsecond=0).isoformat(), "tz": "Europe/Brussels",
                        "label": "deadline"})
        return sorted(out, key=lambda d: d["at"])

    rows = [dict(id=f"gen-{i}", title=f"Generated call {i}", level=rnd.choice(("eu", "national", "local")),
                 themes=rnd.sample(ids, 2), eligible_applicants=["municipality"], deadlines=deadlines(),
                 deadline_model="multiple_cutoffs", origin="bench") for i in range(n)]
    async with services.db.transaction() as s:
        for i in range(0, n, 5000):
            await s.execute(insert(FundingInstrument), rows[i:i + 5000])
        await resync_deadlines(s)    # a bulk insert bypasses the ORM that keeps funding_deadlines
    dispatcher = Dispatcher(services)

    async def answer(body: str, k: int) -> float:
        t = time.perf_counter()
        await dispatcher.handle(Incoming(sender="@u:bench", room_id="!r:bench", event_id=f"$d{k}", body=body,
                                         is_direct=True))
        return time.perf_counter() - t

    async def naive() -> float:
        """Before: every instrument read, each one's deadlines computed (the old deadline_list)."""
        t = time.perf_counter()
        async with services.db.session() as s:
            all_rows = list((await s.scalars(select(FundingInstrument))).all())
            end = NOW + timedelta(days=30)
            found = sorted(((d, r) for r in all_rows for d in deadline_infos(r) if NOW <= d.at <= end),
                           key=lambda p: (p[0].at, p[1].id))
        assert found
        return time.perf_counter() - t

    for k in range(3):                      # warm up both
        await answer("!deadlines", 1000 + k)
        await naive()
    ours, base, ping = [], [], []
    for k in range(rounds):
        ours.append(await answer("!deadlines", k))
        base.append(await naive())
        ping.append(await answer("!ping", 2000 + k))     # the dispatcher's own floor, same conditions
    await services.db.dispose()
    p50, p99 = pct(ours, 50) * 1000, pct(ours, 99) * 1000
    b50, b99 = pct(base, 50) * 1000, pct(base, 99) * 1000
    print(f"!deadlines over {n:,} instruments: p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
          f"reading every instrument: p50 {b50:.1f} ms, p99 {b99:.1f} ms; !ping in-process p50 "
          f"{pct(ping, 50) * 1000:.1f} ms")
    emit("deadlines", [
        row(f"`!deadlines` over {n:,} instruments (whole answer)", p50, "ms p50",
            "every instrument read (before)", b50, note="target ≤ 50 ms"),
        row(f"`!deadlines` over {n:,} instruments (whole answer)", p99, "ms p99",
            "every instrument read (before)", b99),
        row("`!ping` answered in-process (the dispatcher's floor, same run)", pct(ping, 50) * 1000, "ms p50"),
    ])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(main_async(args.n, args.rounds))


if __name__ == "__main__":
    main()
