"""Many real Matrix users talking to the bot at once, for the chaos tests and bench/soak.py.

    crowd = await Crowd.create(hs, bot.user_id, users=20, workdir=tmp_path / "crowd")
    sent = await crowd.run(commands_per_user=12)          # every user, concurrently
    state = await bot.quiescent(handled=crowd.command_ids())
    report = await crowd.verify_exactly_once(state)       # raises on a lost or doubled answer
    print(report.table())

Each user has a direct room with the bot (so plain questions need no prefix) and sends a
fixed, mixed sequence of commands and questions (the same sequence for every run, shifted
per user so all kinds are in flight together). Sends go through Synapse's own rate
limiter (nio waits out each 429 as a real client does); the bot account itself is
exempted by the test (see exempt_from_rate_limits), as operators do for bots.

Latency is the user's view: from the command's server timestamp (when the homeserver
accepted it) to the moment the user's sync delivered the reply."""
from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from nio import RoomSendResponse

from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser
from support.quiesce import BotState, replies_by_command, wait_delivered

PASSWORD = "load-user-password"

MIX = (
    "!funding klimaatadaptatie",
    "!labs water",
    "!sessions",
    "!knowledge klimaat",
    "!help",
    "welke subsidies zijn er voor klimaatadaptatie voor gemeenten?",
    "!funding energy transition --open",
    "!labs --near Zwolle",
    "!knowledge",
    "which living labs are there for mobility?",
    "!help funding",
    "!ping",
)

# Words that only an internal error reply contains (the dispatcher's last resort).
INTERNAL_ERROR = "something went wrong on my side"


def exempt_from_rate_limits(hs, user_id: str) -> None:
    """What operators do for a bot account: Synapse's admin API override_ratelimit (0/0 =
    unlimited) for that one account; everyone else keeps the homeserver's real limits."""
    admin = f"ratelimit-admin-{uuid.uuid4().hex[:6]}"
    hs.register(admin, PASSWORD, admin=True)
    _, token, _ = hs.login_token(admin, PASSWORD)
    hs.api("POST", f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
           {"messages_per_second": 0, "burst_count": 0}, access_token=token)


@dataclass
class Sent:
    user: MatrixUser
    room_id: str
    event_id: str
    text: str


@dataclass
class Report:
    commands: int
    answered: int
    latencies: list[float] = field(default_factory=list)  # seconds
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    def summary(self) -> str:
        if not self.latencies:
            return f"{self.commands} commands, no latencies"
        return (f"{self.commands} commands answered exactly once in {self.seconds:.1f}s; latency "
                f"p50 {self.percentile(50) * 1000:.0f} ms, p95 {self.percentile(95) * 1000:.0f} ms, "
                f"p99 {self.percentile(99) * 1000:.0f} ms, max {max(self.latencies) * 1000:.0f} ms")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a real sample)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Crowd:
    def __init__(self, hs, bot_id: str, users: list[MatrixUser], rooms: list[str]):
        self.hs, self.bot_id, self.users, self.rooms = hs, bot_id, users, rooms
        self.sent: list[Sent] = []
        self._wall_offset = time.time() - time.monotonic()
        self._started: float | None = None

    @classmethod
    async def create(cls, hs, bot_id: str, users: int, workdir: Path, *, prefix: str = "load") -> "Crowd":
        tag = uuid.uuid4().hex[:5]

        async def one(n: int) -> tuple[MatrixUser, str]:
            user_id = await asyncio.to_thread(hs.register, f"{prefix}{tag}u{n}", PASSWORD)
            # No encryption: the load is about the bot, not about Olm sessions on 2 cores.
            user = await MatrixUser.create(hs.url, user_id, PASSWORD, Path(workdir) / f"u{n}", encryption=False)
            room = await user.create_room(invite=[bot_id], is_direct=True)
            await user.wait_joined(room, bot_id, timeout=60)
            return user, room

        # A few at a time: joins are one sync of the bot each, no need to pile them up.
        sem = asyncio.Semaphore(5)

        async def limited(n: int):
            async with sem:
                return await one(n)

        made = await asyncio.gather(*(limited(n) for n in range(users)))
        return cls(hs, bot_id, [u for u, _ in made], [r for _, r in made])

    async def close(self) -> None:
        await asyncio.gather(*(u.close() for u in self.users), return_exceptions=True)

    async def run(self, commands_per_user: int, *, gate: asyncio.Event | None = None,
                  mix=MIX, pace: float = 0.0) -> list[Sent]:
        """Every user sends `commands_per_user` commands from the mix, concurrently.
        `gate`: while cleared, users hold their next command (used to pause the load).
        `pace`: seconds between one user's commands (0: as fast as the homeserver allows).
        A send the homeserver refuses (e.g. it is down) is retried until it is accepted."""
        if self._started is None:
            self._started = time.monotonic()

        async def user_load(i: int, user: MatrixUser, room: str) -> None:
            for k in range(commands_per_user):
                if gate is not None:
                    await gate.wait()
                text = mix[(i + k) % len(mix)]
                event_id = await send_retrying(user, room, text)
                self.sent.append(Sent(user, room, event_id, text))
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(user_load(i, u, r) for i, (u, r) in enumerate(zip(self.users, self.rooms))))
        return self.sent

    async def send_each(self, text: str, users=None) -> list[Sent]:
        """One command from each user (or the given ones), concurrently."""
        users = users if users is not None else list(range(len(self.users)))

        async def one(i: int) -> Sent:
            s = Sent(self.users[i], self.rooms[i], await send_retrying(self.users[i], self.rooms[i], text), text)
            self.sent.append(s)
            return s

        return list(await asyncio.gather(*(one(i) for i in users)))

    def command_ids(self) -> list[str]:
        return [s.event_id for s in self.sent]

    async def verify_exactly_once(self, state: BotState, *, sent: list[Sent] | None = None,
                                  not_answered: list[Sent] = ()) -> Report:
        """Every command in `sent` (default: all) answered by exactly the outbox rows the bot
        recorded for it (at least one), each delivered once; nothing in `not_answered`
        answered at all; no internal error. Call after bot.quiescent(...)."""
        sent = self.sent if sent is None else sent
        await asyncio.gather(*(wait_delivered(u, state, r) for u, r in zip(self.users, self.rooms)))
        problems: list[str] = []
        latencies: list[float] = []
        by_user = {id(u): replies_by_command(u, self.bot_id) for u in self.users}
        for s in sent:
            replies = by_user[id(s.user)].get(s.event_id, [])
            rows = state.rows_for(s.event_id)
            if s.event_id not in state.handled:
                problems.append(f"{s.text!r} ({s.event_id}) never handled")
            elif not replies or len(replies) != rows or len({e.event_id for e in replies}) != len(replies):
                problems.append(f"{s.text!r} ({s.event_id}): {len(replies)} replies for {rows} outbox rows: "
                                f"{[body_of(e)[:60] for e in replies]}")
            elif any(INTERNAL_ERROR in body_of(e) for e in replies):
                problems.append(f"{s.text!r}: internal error: {body_of(replies[0])[:200]}")
            else:
                command_ts = self._server_ts(s)
                if command_ts is not None:
                    first = min(e.received_at for e in replies)
                    latencies.append(max(0.0, first + self._wall_offset - command_ts))
        for s in not_answered:
            replies = by_user[id(s.user)].get(s.event_id, [])
            if replies or state.rows_for(s.event_id):
                problems.append(f"{s.text!r} ({s.event_id}) answered although too old: "
                                f"{[body_of(e)[:60] for e in replies]}")
        if problems:
            raise AssertionError(f"{len(problems)} of {len(sent)} commands wrong:\n" + "\n".join(problems[:30]))
        return Report(commands=len(sent), answered=len(sent), latencies=latencies,
                      seconds=time.monotonic() - (self._started or time.monotonic()))

    @staticmethod
    def _server_ts(s: Sent) -> float | None:
        for ev in reversed(s.user.events):
            if getattr(ev, "event_id", None) == s.event_id:
                return ev.server_timestamp / 1000
        return None


async def send_retrying(user: MatrixUser, room: str, text: str, timeout: float = 120) -> str:
    """Send like a person whose app retries: a refused or failed send is tried again with the
    same transaction id, so a send the homeserver did accept is never posted twice."""
    await user.wait_room_known(room)
    txn = uuid.uuid4().hex
    content = {"msgtype": "m.text", "body": text}
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        try:
            resp = await user.client.room_send(room, "m.room.message", content, tx_id=txn)
            if isinstance(resp, RoomSendResponse):
                return resp.event_id
            error = resp
        except Exception as exc:  # noqa: BLE001 - homeserver away or overloaded: try again
            error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{user.user_id} could not send {text!r}: {error}")
        await asyncio.sleep(min(0.2 * 2 ** attempt, 2.0))
    raise AssertionError("unreachable")
