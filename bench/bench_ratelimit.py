"""1,000 digests against Synapse's default message rate limit and against an exempted
bot, same run, same homeserver (tests/support/synapse.py with real_rate_limits=True:
rc_message keeps its default, 0.2/s after a burst of 10).

Two bot accounts each get 1,000 digest messages (rendered like a real digest) in their
outbox and send them through the bot's own OutboxSender and MatrixTransport into a room
(one lane, as a busy direct-message backlog behaves towards one account's limit):
  - exempted: the admin API `override_ratelimit` {"messages_per_second": 0, "burst_count": 0}
    was called for it; all 1,000 are sent and timed;
  - default limits: sent for --sample seconds (default 90; --full sends all 1,000, about
    83 minutes), then the measured rate gives the time for all of them, and the bot's own
    RateWatch estimate (what `!admin stats` and the log say) is shown next to it.

    python bench/bench_ratelimit.py [--digests 1000] [--sample 90] [--full]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, row  # noqa: E402

from nio import AsyncClient, AsyncClientConfig  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.framework import effects  # noqa: E402
from bot.framework.messages import Outgoing  # noqa: E402
from bot.matrix.transport import MatrixTransport  # noqa: E402
from bot.outbox import OutboxSender  # noqa: E402
from bot.ratelimit import RateWatch  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models.core import OutboxMessage  # noqa: E402
from support.synapse import SynapseServer  # noqa: E402

PASSWORD = "bench-password"


def digest_markdown(n: int) -> str:
    items = "\n".join(f"- [Warmtenet les {n}-{k}](https://example.org/{n}/{k}) · lesson · Gemeente Zwolle"
                      for k in range(5))
    return (f"📬 **Your knowledge digest** — 6 Dec\n\n### Energy transition\n**New knowledge**\n{items}\n\n"
            "_Pause: `!digest pause 2w` · stop: `!unsubscribe all`_")


async def bot_client(hs: SynapseServer, name: str, workdir: Path) -> AsyncClient:
    user_id = hs.register(name, PASSWORD)
    client = AsyncClient(hs.url, user_id, store_path=str(workdir),
                         config=AsyncClientConfig(encryption_enabled=False, max_limit_exceeded=0, max_timeouts=0))
    await client.login(PASSWORD)
    return client


async def run_bot(client: AsyncClient, room_id: str, db_path: Path, count: int, limit_s: float | None):
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.upgrade()
    async with db.transaction() as s:
        rows = []
        for n in range(count):
            rows += effects.build_rows([Outgoing(digest_markdown(n), room_id=room_id)], origin=f"digest {n}",
                                       key=f"bench:{client.user_id}:{n}")
        await effects.enqueue_many(s, rows)
    await client.sync(timeout=0, full_state=True)
    sender = OutboxSender(db, MatrixTransport(client, db), max_retries=1000)
    sender.watch = RateWatch(client.user_id, "")
    start = time.monotonic()
    sender.start()
    sent = 0
    while True:
        await asyncio.sleep(1)
        async with db.session() as s:
            sent = await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
        elapsed = time.monotonic() - start
        if sent >= count or (limit_s is not None and elapsed >= limit_s):
            break
    estimate = sender.watch.state(count - sent)
    await sender.stop()
    await db.dispose()
    return sent, elapsed, estimate


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--digests", type=int, default=1000)
    ap.add_argument("--sample", type=float, default=90.0)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hs = SynapseServer(tmp / "hs", real_rate_limits=True)
        hs.start()
        try:
            admin_id = hs.register("ops", PASSWORD, admin=True)
            _, admin_token, _ = hs.login_token("ops", PASSWORD)
            exempt = await bot_client(hs, "exempt", tmp / "exempt")
            limited = await bot_client(hs, "limited", tmp / "limited")
            hs.api("POST", f"/_synapse/admin/v1/users/{exempt.user_id}/override_ratelimit",
                   {"messages_per_second": 0, "burst_count": 0}, admin_token)
            reader = AsyncClient(hs.url, admin_id)
            await reader.login(PASSWORD)
            rooms = {}
            for bot in (exempt, limited):
                resp = await reader.room_create(invite=[bot.user_id], name=f"digests {bot.user_id}")
                await bot.join(resp.room_id)
                rooms[bot.user_id] = resp.room_id
            results = {}
            for label, bot, limit in (("exempted", exempt, None),
                                      ("default limits", limited, None if args.full else args.sample)):
                sent, elapsed, estimate = await run_bot(bot, rooms[bot.user_id], tmp / f"{label[:4]}.sqlite3",
                                                        args.digests, limit)
                rate = sent / elapsed if elapsed else 0
                # Under the limit, the rest goes at the limited rate (the burst went at once):
                # the total is what took so far plus the bot's own estimate for the rest.
                if estimate and sent < args.digests:
                    rate = estimate["rate"]
                    total = elapsed + estimate["eta_seconds"]
                else:
                    total = elapsed if sent >= args.digests else float("inf")
                results[label] = (sent, elapsed, rate, total, estimate)
                eta = f"; the bot's own estimate for the rest: {estimate['eta_seconds'] / 60:.0f} min" if estimate else ""
                print(f"{label}: {sent}/{args.digests} sent in {elapsed:.1f} s (then {rate:.2f}/s) -> all "
                      f"{args.digests}: {total / 60:.1f} min{eta}", flush=True)
            for client in (exempt, limited, reader):
                await client.close()
        finally:
            hs.stop()
    ex, lim = results["exempted"], results["default limits"]
    emit("ratelimit", [
        row(f"{args.digests} digests, exempted bot (override_ratelimit)", ex[3], "s"),
        row(f"{args.digests} digests, default rc_message (0.2/s, burst 10)", lim[3], "s",
            baseline="exempted", baseline_value=ex[3]),
        row("default limits: rate after the burst", lim[2], "msg/s"),
        row("exempted: measured rate", ex[2], "msg/s"),
    ], sample_seconds=None if args.full else args.sample, full=args.full)


if __name__ == "__main__":
    asyncio.run(main())
