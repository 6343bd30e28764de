"""`!ping` round trip through a real Synapse, next to Synapse's own echo time measured in
the same run (a user sending a message and seeing it come back in its own sync); other
commands can be measured in the same run, interleaved with `!ping`:

    python bench/bench_ping.py [--samples 200]
    python bench/bench_ping.py --samples 50 --command '!ping' --command '!funding klimaat'

The echo is the floor for one delivery; a command→reply needs two deliveries and one
send more, so about 2× the echo is the best a bot can do."""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this tree, not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.botproc import BOT_PASSWORD, BotProcess  # noqa: E402
from support.matrix_user import MatrixUser  # noqa: E402
from support.synapse import SynapseServer  # noqa: E402
from common import emit, pct, row, rss_mib  # noqa: E402



LIVE = ("aarhusai_portal_search_page_TRIMMED_2026.json", "fundhunt_sedia_search_TRIMMED_2026.json",
        "fundhunt_sedia_cascade_TRIMMED_2025.json", "nmmonteiro_search_text-AI_2025-12-05_b.json",
        "nmmonteiro_search_text-topicid_2025-12-05.json", "paulmazaingue_search_all_2025-05-05.json",
        "sensefound_sedia-sample_EXCERPT_2026-09-01.json")


async def load_live(bot) -> str:
    """The live records: `dsih-bot refresh funding --source eu-ft` as the nightly timer runs it,
    against the REAL recorded portal answers (tests/data/eu_ft/real/) replayed on loopback."""
    from support.eu_ft_replay import RealPortal, recorded_rows
    rows = [r for name in LIVE for r in recorded_rows(name)]
    with RealPortal(rows=rows) as portal:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
               "DSIH_BOT__FUNDING__EU_FT_URL": portal.url, "DSIH_BOT__BOT__PRETEND_NOW": "2026-12-05T03:00:00+00:00"}
        proc = await asyncio.create_subprocess_exec(bot.executable(), "refresh", "funding", "--source", "eu-ft",
                                                    "--config", str(bot.config_path), env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
    if proc.returncode != 0:
        raise RuntimeError(out.decode()[-2000:])
    return out.decode().strip().splitlines()[-1]


async def measure(samples: int, commands: list[str], profile: str | None = None, live: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hs = SynapseServer(tmp / "hs")
        hs.start()
        bot = None
        user = None
        floor = None
        try:
            bot_id = hs.register("dsihbench", BOT_PASSWORD)
            user_id = hs.register("bench", "pw")
            bot = BotProcess(tmp / "bot", hs.url, bot_id, extra_bot={"rate_limit_count": 100000},
                             env={"DSIH_BOT__LOGGING__LEVEL": "WARNING",
                                  **({"DSIH_BOT_PROFILE": str(Path(profile).resolve())} if profile else {})})
            t_start = time.monotonic()
            bot.start(wait_ready=False)
            heartbeat = tmp / "bot" / "data" / "heartbeat"   # touched after each sync (INFO logs are off here)
            while not heartbeat.exists() and time.monotonic() - t_start < 60:
                await asyncio.sleep(0.01)
            startup = time.monotonic() - t_start   # process start -> logged in, first sync done
            user = await MatrixUser.create(hs.url, user_id, "pw", tmp / "user", encryption=False)
            room = await user.create_room(invite=[bot_id])
            await user.wait_joined(room, bot_id, timeout=60)
            if live:
                print("live records:", await load_live(bot), file=sys.stderr)
            # The second baseline: a bare nio bot in a room of its own.
            floor_id = hs.register("floorbot", "pw")
            store = tmp / "floor-store"
            store.mkdir()
            floor = subprocess.Popen([sys.executable, str(Path(__file__).with_name("minimal_bot.py")), hs.url,
                                      floor_id, "pw", *([str(store)] if os.environ.get("FLOOR_E2EE") else [])],
                                     stdout=subprocess.PIPE, text=True)
            floor.stdout.readline()
            floor_room = await user.create_room(invite=[floor_id])
            await user.wait_joined(floor_room, floor_id, timeout=60)
            for command in commands * 3:  # warm-up
                m = user.mark()
                await user.send_text(room, command)
                await user.wait_for_reply(room, bot_id, since=m, timeout=30)
            for _ in range(3):
                m = user.mark()
                await user.send_text(floor_room, "!ping")
                await user.wait_for_reply(floor_room, floor_id, since=m, timeout=30)
            out: dict[str, list[float]] = {"echo": [], "floor": [], **{c: [] for c in commands}}
            for _ in range(samples):
                out["echo"].append(await user.echo_time(room))
                m = user.mark()
                start = time.monotonic()
                await user.send_text(floor_room, "!ping")
                reply = await user.wait_for_reply(floor_room, floor_id, since=m, timeout=30)
                out["floor"].append(reply.received_at - start)
                for command in commands:   # interleaved: the same conditions for each
                    m = user.mark()
                    start = time.monotonic()
                    await user.send_text(room, command)
                    reply = await user.wait_for_reply(room, bot_id, since=m, timeout=30)
                    out[command].append(reply.received_at - start)
                    if command == "!ping":
                        assert reply.source["content"]["body"].startswith("Pong!")
            out["_startup"] = [startup]
            out["_rss"] = [rss_mib(bot.proc.pid)]
            return out
        finally:
            if floor is not None:
                floor.kill()
            if user:
                await user.close()
            if bot:
                bot.terminate()
            hs.stop()


def table(results: dict) -> str:
    e = results["echo"]
    rows = [("Synapse echo (baseline)", e), ("bare nio bot !ping (floor)", results["floor"])] + [
        (f"{c} round trip", v) for c, v in results.items() if c not in ("echo", "floor") and not c.startswith("_")]
    out = [f"{'measurement':32} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9} {'p50/echo':>9}"]
    for name, v in rows:
        out.append(f"{name[:32]:32} {len(v):5d} {pct(v, 50) * 1000:9.1f} {pct(v, 95) * 1000:9.1f} "
                   f"{statistics.mean(v) * 1000:9.1f} {pct(v, 50) / pct(e, 50):9.2f}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--command", action="append", help="repeatable; default !ping")
    ap.add_argument("--profile", help="write a cProfile of the bot to this file (pstats format)")
    ap.add_argument("--live", action="store_true", help="load the live records first (the EU portal refresh "
                    "replaying real recorded answers)")
    args = ap.parse_args()
    results = asyncio.run(measure(args.samples, args.command or ["!ping"], args.profile, args.live))
    results["_live"] = [1.0 if args.live else 0.0]
    print(table(results))
    print(f"start-up to first sync {results['_startup'][0]:.2f} s; bot RSS after the run {results['_rss'][0]:.0f} MiB")
    emit("ping", report_rows(results), samples={k: v for k, v in results.items() if not k.startswith("_")})


def report_rows(results: dict) -> list[dict]:
    p50 = {k: pct(v, 50) * 1000 for k, v in results.items() if not k.startswith("_")}
    rows = [row("bare nio bot `!ping` round trip (the floor)", p50["floor"], "ms p50", "Synapse echo", p50["echo"])]
    if "!ping" in p50:
        rows.append(row("`!ping` round trip", p50["!ping"], "ms p50", "Synapse echo", p50["echo"],
                        note="target ≤ 1.75×"))
    for c in p50:
        if c not in ("echo", "floor", "!ping"):
            rows.append(row(f"`{c}` round trip", p50[c], "ms p50", "`!ping` round trip", p50.get("!ping"),
                            note="target ≤ 1.10×" if c.startswith("!funding") else ""))
    rows.append(row("start-up to first sync (login, first sync)", results["_startup"][0], "s"))
    data = "bundled data and the live EU portal records" if results.get("_live", [0])[0] else "bundled data"
    rows.append(row(f"bot RSS after the run ({data})", results["_rss"][0], "MiB"))
    return rows


if __name__ == "__main__":
    main()
