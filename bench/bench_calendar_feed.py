"""The calendar feed (`!calendar`, issue 20): one person's feed with 200 sessions and 500
followed funding deadlines, served by the route's handler in-process (no HTTP, so only the
bot's own work is timed): a full GET built and rendered (a fresh route, so no rendered body
is cached), a full GET whose rendered body is cached, and a conditional GET with the
current ETag (304):

    python bench/bench_calendar_feed.py [--rounds 200]

A 304 should cost a small fraction of a full answer: the ETag comes from a cheap version
query, not from building every entry."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, pct, row  # noqa: E402

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
ALICE = "@alice:bench"


async def main_async(rounds: int) -> None:
    from bot.app import build_services
    from bot.framework.http import HttpRequest
    from commands.brokerage import calendar as feed
    from config.settings import load_settings
    from storage.brokerage.models import CalendarToken, Interest
    from storage.funding.models import FundingInstrument
    from storage.sessions.models import Participant, ReviewSession

    tmp = tempfile.mkdtemp(prefix="bench-calendar-")
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = tmp
    settings = load_settings()
    settings.bot.rate_limit_count = 10**6
    services = await build_services(settings, bot_user_id="@bot:bench")
    services.clock = lambda: NOW
    start = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
    token = feed.new_token()
    async with services.db.transaction() as s:
        for i in range(200):
            session = ReviewSession(title=f"Session {i}", facilitator="@f:bench", starts_at=start + timedelta(days=i),
                                    ends_at=start + timedelta(days=i, hours=1), room_id="!r:bench", location="Zwolle")
            s.add(session)
            await s.flush()
            s.add(Participant(session_id=session.id, user_id=ALICE, role="reviewer"))
        for i in range(25):   # 25 followed calls x 20 deadlines = 500
            s.add(FundingInstrument(id=f"bench-{i}", title=f"Bench call {i}", level="eu",
                                    deadlines=[{"at": f"2027-{1 + j % 12:02d}-{1 + j:02d}T17:00:00",
                                                "tz": "Europe/Brussels"} for j in range(20)]))
            s.add(Interest(user_id=ALICE, ref_kind="instrument", ref_id=f"bench-{i}", title=f"Bench call {i}"))
        s.add(CalendarToken(user_id=ALICE, token_hash=feed.token_hash(token), created_at=NOW))
    route = feed.make_route(feed.RateLimit(10**6))

    async def get(headers, fresh=False) -> tuple[float, int, dict]:
        req = HttpRequest("GET", f"/calendar/{token}.ics", {"token": token}, headers)
        handler = feed.make_route(feed.RateLimit(10**6)).handler if fresh else route.handler
        t = time.perf_counter()
        resp = await handler(services, req)
        return time.perf_counter() - t, resp.status, resp.headers

    _, status, headers = await get({})
    assert status == 200
    etag = headers["ETag"]
    for _ in range(3):
        await get({})
        await get({"If-None-Match": etag})
    full, cond, built = [], [], []
    for _ in range(rounds):
        d, status, _ = await get({}, fresh=True)
        assert status == 200
        built.append(d)
        d, status, _ = await get({})
        assert status == 200
        full.append(d)
        d, status, _ = await get({"If-None-Match": etag})
        assert status == 304
        cond.append(d)
    await services.db.dispose()
    b50 = pct(built, 50) * 1000
    f50, c50 = pct(full, 50) * 1000, pct(cond, 50) * 1000
    f99, c99 = pct(full, 99) * 1000, pct(cond, 99) * 1000
    print(f"calendar feed, 200 sessions + 500 deadlines, {rounds} rounds: full GET built and rendered p50 "
          f"{b50:.2f} ms; full GET, rendered body cached p50 {f50:.2f} ms "
          f"(p99 {f99:.2f}); conditional GET 304 p50 {c50:.2f} ms (p99 {c99:.2f}); 304/full {c50 / f50:.2f}")
    emit("calendar", [
        row("calendar feed full GET built and rendered, 200 sessions + 500 deadlines", b50, "ms p50"),
        row("calendar feed conditional GET (304), 200 sessions + 500 deadlines", c50, "ms p50",
            "full GET, rendered body cached", f50),
        row("calendar feed conditional GET (304), 200 sessions + 500 deadlines", c99, "ms p99",
            "full GET, rendered body cached", f99),
    ])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    asyncio.run(main_async(args.rounds))


if __name__ == "__main__":
    main()
