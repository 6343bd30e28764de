"""One fuzz target over the whole dispatch path, shared by the hypothesis tests (CI) and
bench/fuzz_atheris.py (long runs): a raw Matrix event as a homeserver would deliver it ->
nio's parser -> the runtime's own message/event handlers (MatrixRuntime._message and
._room_event: edit filter, allow-list, room facts from a real nio MatrixRoom, power levels
from the room state the runtime keeps, bot.matrix.power.RoomPower) -> the
dispatcher and every capability -> the replies as they would be sent.

Oracle (`Verdict.failures`): no exception escapes, nothing is logged at ERROR (the
dispatcher's internal-error path logs and counts `metrics.internal_errors`; a failing room
event handler logs too), no reply says "something went wrong", and no sent formatted body or
Markdown file carries executable HTML (support.html_safety)."""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

from hypothesis import strategies as st
from nio import Event, MatrixRoom, RoomMessageText, UnknownEvent
from sqlalchemy import update

from bot.framework.dispatcher import Dispatcher
from bot.matrix.power import RoomPower
from bot.matrix.runtime import MatrixRuntime
from bot.framework.render import message_content
from bot.scheduler import Scheduler
from commands import build_registry
from commands.sessions.polls import POLL_START
from storage.models.core import OutboxMessage
from support.chat import Chat, make_services
from support.html_safety import outgoing_problems

BOT = "@bot:test"
ROOM = "!fuzz:test"
DM = "!fuzzdm:test"
POLL_EVENT = "$fuzzpoll"
USERS = ["@alice:test", "@admin:test", "@facil:test", "@mod:test", "@eve:evil.example", "@bot:test"]


class _ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


class _Recorder:
    """The dispatcher as the runtime sees it, keeping what each call returned."""

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self.out: list = []

    async def handle(self, msg):
        replies = await self.dispatcher.handle(msg)
        self.out += replies or []
        return replies

    async def handle_event(self, event):
        replies = await self.dispatcher.handle_event(event)
        self.out += replies or []
        return replies


@dataclass
class Verdict:
    replies: list = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class DispatchTarget:
    """A bot with the bundled data, a room with a facilitator by power level, a direct chat,
    an open poll and a session; the flood guard out of the way so every input reaches a handler."""

    def __init__(self, services):
        self.services = services
        self.recorder = _Recorder(Dispatcher(services))
        self.rooms: dict[str, MatrixRoom] = {}
        self.direct_with: dict[str, str | None] = {}
        # The runtime's handlers need only these attributes of the runtime (and the client's rooms).
        self.runtime = SimpleNamespace(services=services, dispatcher=self.recorder,
                                       sender=SimpleNamespace(wake=lambda: None), power=RoomPower(),
                                       client=SimpleNamespace(rooms=self.rooms))
        self.add_room(ROOM, {"@alice:test": 0, "@mod:test": 50, "@eve:evil.example": 100})
        self.add_room(DM, {"@alice:test": 100}, direct_with="@alice:test")
        self.errors = _ErrorLog()
        self._ids = itertools.count()

    @classmethod
    async def create(cls, data_dir, **settings) -> "DispatchTarget":
        settings = {"load_sample_data": True, "rate_limit_count": 10**6, "allowed_users": ["@*:test"], **settings}
        services = await make_services(data_dir, **settings)
        # Timers are never started: jobs are planned (rows written) but do not fire by themselves.
        services.timers = Scheduler(services, lambda: None)
        target = cls(services)
        await target._seed()
        return target

    async def close(self) -> None:
        await self.services.db.dispose()

    async def _seed(self) -> None:
        chat = Chat(self.services)
        chat.prefix = "$seed"
        await chat.send('!session poll "Fuzz poll" next tuesday 14:00 | next wednesday 10:00', sender="@facil:test",
                        room=ROOM)
        async with self.services.db.transaction() as s:  # what the outbox sender records once sent
            await s.execute(update(OutboxMessage).where(OutboxMessage.event_type == POLL_START)
                            .values(event_id=POLL_EVENT, status="sent"))
        await chat.send('!session new "Fuzz session" next thursday 14:00', sender="@facil:test", room=ROOM)
        await chat.send("!remindme 2d fuzz reminder", sender="@alice:test", room=ROOM)
        # alice reviews session 1 step by step in her direct chat: her plain text there is an answer first.
        await chat.send("!session assign 1 @alice:test reviewer", sender="@facil:test", room=ROOM)
        await chat.send("!review 1", sender="@alice:test", room=DM, direct=True)

    async def feed(self, source: dict, room_id: str = ROOM) -> Verdict:
        """Deliver one raw event (a dict as in a sync response's timeline) and judge the result."""
        verdict = Verdict()
        self.recorder.out = []
        errors_before = self.services.metrics.internal_errors._value.get()
        root = logging.getLogger()
        root.addHandler(self.errors)
        self.errors.records = []
        if isinstance(source, dict):  # the homeserver names every event uniquely
            source = {**source, "event_id": self.next_event_id()}
        try:
            event = Event.parse_event(source)
            room = self.rooms[room_id]
            if getattr(event, "sender", None) == BOT:
                pass  # the runtime skips its own events before anything else
            elif isinstance(event, RoomMessageText):
                await MatrixRuntime._message(self.runtime, room, event, self.direct_with[room_id])
            elif isinstance(event, UnknownEvent) and event.type in self.services.registry.events:
                await MatrixRuntime._room_event(self.runtime, room_id, event)
        except Exception as exc:  # noqa: BLE001 - the finding itself
            verdict.failures.append(f"raised {exc!r}")
        finally:
            root.removeHandler(self.errors)
        verdict.replies = list(self.recorder.out)
        if self.services.metrics.internal_errors._value.get() != errors_before:
            verdict.failures.append("the dispatcher answered with an internal error")
        verdict.failures += [f"logged {r.levelname}: {r.getMessage()[:300]} {r.exc_info[1]!r}" if r.exc_info
                             else f"logged {r.levelname}: {r.getMessage()[:300]}" for r in self.errors.records]
        for reply in verdict.replies:
            body = message_content(reply.markdown)["body"]
            if "went wrong on my side" in body or "Traceback" in body:
                verdict.failures.append(f"reply shows an internal error: {body[:200]!r}")
        verdict.failures += outgoing_problems(verdict.replies)
        return verdict

    def add_room(self, room_id: str, levels: dict[str, int], *, direct_with: str | None = None,
                 version: str = "11", creator: str = BOT, additional_creators: tuple[str, ...] = (),
                 members: tuple[str, ...] = ()) -> None:
        """Another room the bot is in: its create event (room version, creator, additional
        creators) and power levels as the runtime sees them in sync; everyone named is a member."""
        self.rooms[room_id] = _room(room_id, {**{u: 0 for u in (creator, *additional_creators, *members)}, **levels})
        self.direct_with[room_id] = direct_with
        content = {"room_version": version}
        if additional_creators:
            content["additional_creators"] = list(additional_creators)
        self.state(room_id, "m.room.create", "", content, sender=creator)
        self.set_levels(room_id, levels)

    def state(self, room_id: str, event_type: str, state_key: str, content: dict, sender: str = BOT) -> None:
        """A state event of a room, as the runtime sees it in sync."""
        self.runtime.power.observe(room_id, {"type": event_type, "state_key": state_key, "sender": sender,
                                             "content": content})

    def set_levels(self, room_id: str, levels: dict[str, int]) -> None:
        """Change users' power levels in a room (a new m.room.power_levels event)."""
        room = self.rooms[room_id]
        room.power_levels.users.update(levels)
        self.state(room_id, "m.room.power_levels", "", {"users": dict(room.power_levels.users)})

    async def say(self, sender: str, body: str, room_id: str = ROOM) -> Verdict:
        """A plain text message, as a client sends it."""
        return await self.feed({"type": "m.room.message", "sender": sender, "event_id": "$x",
                                "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body}}, room_id)

    def next_event_id(self) -> str:
        return f"$fz{next(self._ids)}"


def _room(room_id: str, levels: dict[str, int]) -> MatrixRoom:
    room = MatrixRoom(room_id, BOT)
    for user in (BOT, *levels):
        room.add_member(user, None, None)
    room.power_levels.users.update(levels)
    return room


# ----------------------------------------------------------------------------- strategies
def _command_words() -> list[str]:
    """Every command and subcommand spelling in the registry: new commands are fuzzed too."""
    words = set()
    for cmd in build_registry(None).commands:
        for name in cmd.names:
            words.add(name)
            words.update(f"{name} {sub}" for sub in cmd.subcommands)
    return sorted(words)


COMMAND_WORDS = _command_words()
ODD_UNICODE = ["\u202e", "\u202b", "\u2067", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u0301" * 30,
               "e\u0301\u0302\u0303", "\x00", "\x1b[31m", "\ud800", "\udfff", "\ud83d", "\U0001f9ea", "\U000e0041",
               "\u0000\u0000", "\r\n", "\t", "\u2028", "\u2029", "ﷺ", "𒐫" * 20, "İ", "ß", "ǅ", "\uffff", "\U0010ffff"]
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg/onload=alert(1)>',
           "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "![x](javascript:alert(1))",
           "<a href=\"javascript:alert(1)\">x</a>", "`<b>`", "**<i>**", "&lt;script&gt;", "&#x3C;script&#x3E;",
           "<!--", "<![CDATA[x]]>", "<?php ?>", "| a | b |\n|---|---|\n| <b> | c |", "# h\n- <x>",
           "%s%s%s", "{0}{name}{prefix}", "{{7*7}}", "'; DROP TABLE users; --", "NEAR(", "\"", "--", "—"]
ARG_WORDS = ["1", "2", "0", "-1", "99999999999999999999", "next tuesday 14:00", "morgen 9:00", "10m", "2w", "6m",
             "--level", "eu", "--theme", "klimaat", "--near", "Zwolle", "--as", "reviewer", "@alice:test",
             "@bob:evil.example", "impact", "5", "submit", "|", "https://example.org/?utm_source=x", "#klimaat",
             "all", "weekly", "--room", "--at", "25:99", "--project", "--question", "--where", "accept", "decline"]
def _weighted(*pairs) -> st.SearchStrategy:
    """one_of with weights (hypothesis draws branches evenly; most inputs should reach a handler)."""
    return st.sampled_from([s for weight, s in pairs for _ in range(weight)]).flatmap(lambda s: s)


SENDERS = ["@alice:test"] * 4 + USERS
TEXT = st.text(max_size=60)
PIECE = st.one_of(TEXT, st.sampled_from(ODD_UNICODE), st.sampled_from(HOSTILE), st.sampled_from(ARG_WORDS))
COMMAND = st.builds(lambda lead, word, parts: lead + word + " " + " ".join(parts),
                    st.sampled_from(["!", "!", "!", "!", "", "bot: ", "@bot:test: ", "Bot ", "  !"]),
                    st.sampled_from(COMMAND_WORDS), st.lists(PIECE, max_size=8))
BIG = st.builds(lambda lead, fill, n: lead + fill * (65536 // max(1, len(fill)) + n),
                st.sampled_from(["!funding ", "!share https://x.org ", "!remindme 1h ", "", "!labs "]),
                st.sampled_from(["x", "é", "<b>", "\u202e", " ", "\n", "🧪"]), st.integers(0, 3))
BODY = _weighted((10, COMMAND), (2, PIECE), (1, BIG))

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                    max_leaves=8)
PILL = st.builds(lambda user, label, rest: f'<a href="https://matrix.to/#/{user}">{label}</a>: {rest}',
                 st.sampled_from(USERS + ["@bot:test", "@x\"onmouseover=alert(1):test", "javascript:alert(1)"]),
                 st.one_of(st.sampled_from(["Bot", "Alice", "", "<b>x</b>", "@alice:test"]), TEXT), TEXT)
FORMATTED = st.one_of(TEXT, JSON, PILL, st.sampled_from(HOSTILE))
RELATES = st.one_of(
    JSON,
    st.fixed_dictionaries({"rel_type": st.sampled_from(["m.thread", "m.replace", "m.reference", "m.annotation", 7,
                                                        None]),
                           "event_id": st.one_of(st.sampled_from([POLL_EVENT, "$seed0", "$missing"]), TEXT, JSON)},
                          optional={"m.in_reply_to": st.one_of(JSON, st.fixed_dictionaries({"event_id": TEXT})),
                                    "is_falling_back": JSON}))
MENTIONS = st.one_of(JSON, st.fixed_dictionaries({}, optional={
    "user_ids": st.one_of(JSON, st.lists(st.one_of(st.sampled_from(USERS), JSON), max_size=4)),
    "room": st.one_of(st.booleans(), JSON)}))
OPTIONAL = {"format": st.one_of(st.just("org.matrix.custom.html"), JSON), "formatted_body": FORMATTED,
            "m.relates_to": RELATES, "m.mentions": MENTIONS, "m.new_content": JSON}
_WELL_FORMED = st.fixed_dictionaries({"msgtype": st.just("m.text"), "body": BODY}, optional=OPTIONAL)
MESSAGE_CONTENT = _weighted(
    (6, _WELL_FORMED),
    (1, st.fixed_dictionaries({"msgtype": st.one_of(st.sampled_from(["m.text", "m.notice", "m.emote", "m.image"]), JSON),
                           "body": st.one_of(BODY, JSON)}, optional=OPTIONAL)),
    (1, JSON))
ANSWERS = st.one_of(JSON, st.lists(st.one_of(st.sampled_from(["a1", "a2", "a3", "a0", "a99", ""]), TEXT, JSON),
                                   max_size=30))
POLL_CONTENT = st.one_of(
    st.fixed_dictionaries({
        "m.relates_to": st.one_of(RELATES, st.fixed_dictionaries({
            "rel_type": st.just("m.reference"),
            "event_id": st.one_of(st.just(POLL_EVENT), st.sampled_from(["$unknown", "", "$seed0"]), TEXT)})),
        "org.matrix.msc3381.poll.response": st.one_of(JSON, st.fixed_dictionaries({"answers": ANSWERS}))},
        optional={"m.poll.response": st.one_of(JSON, st.fixed_dictionaries({"answers": ANSWERS}))}),
    JSON)


def _events() -> st.SearchStrategy[dict]:
    # `type`, `sender`, `event_id` and `origin_server_ts` come from the homeserver (well-formed;
    # the target gives each event a fresh id), `content` from anyone's client (anything).
    head = {"sender": st.sampled_from(SENDERS), "event_id": st.just("$x"), "origin_server_ts": st.integers(0, 2**53)}
    message = st.fixed_dictionaries({"type": st.just("m.room.message"), "content": MESSAGE_CONTENT, **head})
    return _weighted(
        (8, message),
        (2, st.fixed_dictionaries({"type": st.sampled_from(["org.matrix.msc3381.poll.response", "m.poll.response"]),
                                   "content": POLL_CONTENT, **head})),
        (1, st.fixed_dictionaries({"type": st.sampled_from(["m.room.message", "org.matrix.msc3381.poll.response",
                                                            "org.matrix.msc3381.poll.end", "m.reaction"]),
                                   "content": JSON, **head}, optional={"unsigned": JSON, "redacts": JSON})),
        # An incomplete envelope. (Not a wrong-typed origin_server_ts: nio's own BadEvent raises
        # TypeError on one, before our code; Synapse never sends it.)
        (1, st.fixed_dictionaries({"type": st.sampled_from(["m.room.message", "m.poll.response"]),
                                   "content": MESSAGE_CONTENT},
                                  optional={"sender": st.one_of(st.sampled_from(SENDERS), JSON),
                                            "origin_server_ts": st.integers(-2**63, 2**63),
                                            "event_id": st.just("$x")})),
    )


EVENTS = _events()
ROOM_IDS = st.sampled_from([ROOM, ROOM, DM])
