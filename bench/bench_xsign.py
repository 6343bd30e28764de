"""A strict client's `!ping` round trip (tests/support/strict_client.StrictUser: it trusts
only cross-signed devices, as Element does with "exclude insecure devices") in an encrypted
room against a plain room, interleaved in the same run with the same cross-signed bot:

    python bench/bench_xsign.py [--samples 30]

Two encrypted variants: "query every send" fetches /keys/query and re-checks every member's
signature chain before each message (the tests' default, the worst case); "as Element" does
so only when a room key is about to be shared or a sync says a member's devices changed."""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this tree, not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.botproc import BOT_PASSWORD, BotProcess  # noqa: E402
from support.strict_client import StrictUser  # noqa: E402
from support.synapse import SynapseServer  # noqa: E402
from common import emit, pct, row  # noqa: E402


async def ask(user: StrictUser, room_id: str, bot_id: str) -> float:
    mark = user.mark()
    start = time.monotonic()
    sent = await user.send_text(room_id, "!ping")
    reply = await user.wait_for_reply(
        room_id, bot_id, since=mark, timeout=30,
        predicate=lambda ev: ((ev.source.get("content", {}).get("m.relates_to") or {}).get("m.in_reply_to")
                              or {}).get("event_id") == sent)
    return reply.received_at - start


async def measure(samples: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hs = SynapseServer(tmp / "hs")
        hs.start()
        bot = user = None
        try:
            bot_id = hs.register("dsihbench", BOT_PASSWORD)
            user_id = hs.register("strict", "pw")
            bot = BotProcess(tmp / "bot", hs.url, bot_id, extra_bot={"rate_limit_count": 100000})
            await bot.astart()
            await bot.await_log("cross-signing:", timeout=60)
            if "is cross-signed" not in bot.log():
                raise SystemExit("the bot did not cross-sign its device:\n" + bot.log()[-2000:])
            user = await StrictUser.create_strict(hs.url, user_id, "pw", tmp / "user")
            plain = await user.create_room(invite=[bot_id])
            encrypted = await user.create_room(invite=[bot_id], encrypted=True)
            for room_id in (plain, encrypted):
                await user.wait_joined(room_id, bot_id, timeout=60)
                for _ in range(3):  # warm-up: key sharing, first queries
                    await ask(user, room_id, bot_id)
            kinds = (("plain", plain, True), ("encrypted, query every send", encrypted, True),
                     ("encrypted, as Element", encrypted, False))
            out: dict[str, list[float]] = {k: [] for k, _, _ in kinds}
            for _ in range(samples):
                for kind, room_id, every in kinds:
                    user.query_every_send = every
                    out[kind].append(await ask(user, room_id, bot_id))
            if user.refused:
                raise SystemExit(f"the strict client refused {len(user.refused)} event(s): {user.refused[0][1]}")
            return out
        finally:
            if user:
                await user.close()
            if bot and bot.running:
                await bot.aterminate()
            hs.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=30)
    args = ap.parse_args()
    out = asyncio.run(measure(args.samples))
    base = pct(out["plain"], 50)
    print(f"strict client !ping round trip, {args.samples} samples each, interleaved (same run):")
    rows = []
    for kind, values in out.items():
        p50, p95 = pct(values, 50), pct(values, 95)
        print(f"  {kind:28s} p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  mean "
              f"{statistics.mean(values) * 1000:6.0f} ms  ({p50 / base:.2f}x plain p50)")
        if kind != "plain":
            rows.append(row(f"strict client !ping p50, {kind}", p50 * 1000, "ms", "plain room p50", base * 1000))
            rows.append(row(f"strict client !ping p95, {kind}", p95 * 1000, "ms", "plain room p95",
                            pct(out["plain"], 95) * 1000))
    emit("xsign", rows, samples=args.samples)


if __name__ == "__main__":
    main()
