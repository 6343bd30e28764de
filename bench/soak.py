"""Soak: the chaos tests' mixed load (tests/support/load.py) against a local Synapse for N
minutes, outside CI. Every round (about --per-round commands) is proven answered exactly
once after the bot is quiescent; the table shows the bot's memory (RSS) as the commands
add up and each round's latency percentiles, then the memory growth per 1,000 commands.

    python bench/soak.py --minutes 30            # 20 users, Synapse's real rate limits
    python bench/soak.py --minutes 2 --users 5   # a quick look

Users keep Synapse's default message limit (0.2/s, burst 10); the bot's account is exempted
with the admin API, as operators do. Latency is from the homeserver accepting a command to
the user's sync delivering the reply."""
from __future__ import annotations

import argparse
import asyncio
import math
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

# This tree's bot and test helpers (not an installed copy): the bot subprocess runs the
# code `import bot` finds here.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.botproc import BOT_PASSWORD, BotProcess  # noqa: E402
from support.load import Crowd, exempt_from_rate_limits  # noqa: E402
from support.synapse import SynapseServer  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope (MiB per command), robust to one noisy round."""
    if len(xs) < 2:
        return math.nan
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else math.nan


async def soak(minutes: float, users: int, per_round: int, real_limits: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hs = SynapseServer(tmp / "hs", real_rate_limits=real_limits)
        hs.start()
        bot = crowd = None
        try:
            bot_id = hs.register("dsihsoak", BOT_PASSWORD)
            exempt_from_rate_limits(hs, bot_id)
            bot = BotProcess(tmp / "bot", hs.url, bot_id, extra_bot={"rate_limit_count": 10**6})
            await bot.astart()
            crowd = await Crowd.create(hs, bot_id, users, tmp / "crowd", prefix="soak")
            start_rss = rss_mib(bot.proc.pid)
            print(f"# Soak: {users} users, {minutes:g} min, real rate limits: {real_limits}; "
                  f"{platform.node()}, {platform.processor() or platform.machine()}, "
                  f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
            print(f"bot RSS after start-up and {users} joins: {start_rss:.1f} MiB\n")
            print("| round | commands | minutes | bot RSS MiB | Δ MiB / 1,000 cmds | p50 ms | p95 ms | p99 ms |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            t0 = time.monotonic()
            xs, ys = [], []
            prev_cmds, prev_rss = 0, start_rss
            per_user = max(1, math.ceil(per_round / users))
            rnd = 0
            while time.monotonic() - t0 < minutes * 60:
                rnd += 1
                before = len(crowd.sent)
                await crowd.run(per_user)
                this_round = crowd.sent[before:]
                print(f"round {rnd}: {len(this_round)} sent, waiting for the bot", file=sys.stderr, flush=True)
                state = await bot.quiescent(handled=[s.event_id for s in this_round], timeout=600)
                report = await crowd.verify_exactly_once(state, sent=this_round)
                total = len(crowd.sent)
                rss = rss_mib(bot.proc.pid)
                xs.append(total)
                ys.append(rss)
                delta = (rss - prev_rss) / max(1, total - prev_cmds) * 1000
                print(f"| {rnd} | {total} | {(time.monotonic() - t0) / 60:.1f} | {rss:.1f} | {delta:+.2f} | "
                      f"{report.percentile(50) * 1000:.0f} | {report.percentile(95) * 1000:.0f} | "
                      f"{report.percentile(99) * 1000:.0f} |", flush=True)
                prev_cmds, prev_rss = total, rss
            # The first round warms caches (search indexes, catalogs): growth is measured after it.
            growth = slope(xs[1:], ys[1:]) * 1000 if len(xs) > 2 else slope([0] + xs, [start_rss] + ys) * 1000
            print(f"\n{len(crowd.sent)} commands, every one answered exactly once; bot RSS {start_rss:.1f} → "
                  f"{ys[-1]:.1f} MiB; growth after the first round: {growth:+.2f} MiB per 1,000 commands")
            log = bot.log()
            if "Traceback" in log:
                print("bot log has a Traceback:\n" + log[log.index("Traceback") - 500:][:3000])
                return 1
            return 0
        finally:
            if crowd:
                await crowd.close()
            if bot and bot.running:
                await bot.aterminate()
            hs.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--per-round", type=int, default=1000, help="commands per measured round")
    ap.add_argument("--no-rate-limits", action="store_true", help="users unlimited too (more load per minute)")
    args = ap.parse_args()
    return asyncio.run(soak(args.minutes, args.users, args.per_round, not args.no_rate_limits))


if __name__ == "__main__":
    sys.exit(main())
