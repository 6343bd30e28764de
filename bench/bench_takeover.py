"""Fail-over time on PostgreSQL: from SIGKILL of the active bot to the first answer of a
command sent right after, for a standby replica taking over, next to the baseline measured
in the same run: the same bot restarted at once by its supervisor (one process, no standby).

    PYTHONPATH=. python bench/bench_takeover.py [--rounds 5]    (also part of bench/run)

Each round kills the active process, sends `!ping` and waits for the answer; the killed
replica is started again (as the new standby) before the next round."""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.botproc import BOT_PASSWORD, BotProcess  # noqa: E402
from support.matrix_user import MatrixUser  # noqa: E402
from support.postgres import PostgresServer  # noqa: E402
from support.synapse import SynapseServer  # noqa: E402
from common import emit, row  # noqa: E402


async def answered_after_kill(user: MatrixUser, room: str, bot_id: str, victim: BotProcess, then=None) -> float:
    mark = user.mark()
    victim.kill()
    killed = time.monotonic()
    if then:
        then()
    await user.send_text(room, "!ping")
    reply = await user.wait_for_reply(room, bot_id, since=mark, timeout=90)
    return reply.received_at - killed


async def measure(rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"restart": [], "standby": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hs, pg = SynapseServer(tmp / "hs"), PostgresServer()
        hs.start()
        pg.start()
        procs: list[BotProcess] = []
        user = None
        try:
            user = await MatrixUser.create(hs.url, hs.register("bench", "pw"), "pw", tmp / "user", encryption=False)

            def replica(bot_id: str, name: str, db: str) -> BotProcess:
                proc = BotProcess(tmp / name, hs.url, bot_id, data_dir=tmp / f"{db}-data",
                                  env={"DSIH_BOT__STORAGE__DATABASE_URL": pg.url(db),
                                       "DSIH_BOT__LOGGING__LEVEL": "INFO"})
                procs.append(proc)
                return proc

            async def room_with(bot_id: str) -> str:
                room = await user.create_room(invite=[bot_id])
                await user.wait_joined(room, bot_id, timeout=60)
                mark = user.mark()
                await user.send_text(room, "!ping")
                await user.wait_for_reply(room, bot_id, since=mark, timeout=60)
                return room

            # Baseline: one process, restarted immediately after the kill.
            pg.create_database("single")
            single_id = hs.register("dsihsingle", BOT_PASSWORD)
            single = replica(single_id, "single", "single").start()
            room = await room_with(single_id)
            for _ in range(rounds):
                out["restart"].append(await answered_after_kill(user, room, single_id, single,
                                                                then=lambda: single.start(wait_ready=False)))
            single.terminate()

            # Two replicas: the standby takes over; the killed one comes back as standby.
            pg.create_database("pair")
            pair_id = hs.register("dsihpair", BOT_PASSWORD)
            active, standby = replica(pair_id, "a", "pair").start(), replica(pair_id, "b", "pair")
            standby.start(wait_ready=False)
            standby.wait_log("standby:", timeout=60)
            room = await room_with(pair_id)
            for _ in range(rounds):
                out["standby"].append(await answered_after_kill(user, room, pair_id, active))
                active, standby = standby, active
                standby.start(wait_ready=False)
                standby.wait_log("standby:", timeout=60)
            return out
        finally:
            if user:
                await user.close()
            for proc in procs:
                proc.kill()
            hs.stop()
            pg.stop()


def table(results: dict[str, list[float]]) -> str:
    base = statistics.median(results["restart"])
    rows = [("restart by supervisor (baseline)", results["restart"]), ("standby takes over", results["standby"])]
    out = [f"{'SIGKILL -> first answer':34} {'n':>3} {'p50 s':>7} {'max s':>7} {'mean s':>7} {'p50/base':>9}"]
    for name, v in rows:
        out.append(f"{name:34} {len(v):3d} {statistics.median(v):7.2f} {max(v):7.2f} {statistics.mean(v):7.2f} "
                   f"{statistics.median(v) / base:9.2f}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    results = asyncio.run(measure(args.rounds))
    print(table(results))
    emit("takeover", [row("SIGKILL of the active replica → first answer by the standby",
                          statistics.median(results["standby"]), "s p50", "immediate restart of a single bot",
                          statistics.median(results["restart"]), note=f"{args.rounds} rounds each, PostgreSQL")])


if __name__ == "__main__":
    main()
