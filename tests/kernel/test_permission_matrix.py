"""Who may do what, through the runtime's own path (support/fuzz_target.py: the allow-list,
room facts from real nio rooms, then the dispatcher). Every command that declares a role
above member, taken from the registry (a new command is covered by itself), against every
kind of user; then the operations whose rights are checked inside the command; then that
nobody sees or changes another user's reminders, reviews, requests or subscriptions."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.framework.roles import Role
from bot.framework.render import message_content
from storage.models.core import ScheduledJob
from support.fuzz_target import ROOM, DispatchTarget

ROOM2, DM_OWNER, PAIR = "!other:test", "!ownerdm:test", "!pair:test"
# Room version 12 (room ids without a server part), the hub's Space and one of its rooms.
V12, DM12, SPACE, CHILD = "!v12room", "!v12dm", "!hubspace", "!spacechild"
MAKER, COMAKER, SPACEMOD = "@maker:test", "@comaker:test", "@spacemod:test"
ALICE, BOB, MOD, OWNER, FACIL, ADMIN = "@alice:test", "@bob:test", "@mod:test", "@owner:test", "@facil:test", "@admin:test"

# name -> (sender, room). In ROOM: mod has power 50, the strangers 100 (they could make
# themselves admin of a room they created; that must not matter). In ROOM2 mod has 0.
ROLES = {
    "member": (ALICE, ROOM),
    "facilitator by config": (FACIL, ROOM),
    "facilitator by power level in this room": (MOD, ROOM),
    "facilitator by power level in another room": (MOD, ROOM2),
    "owner of a direct chat": (OWNER, DM_OWNER),
    "owner of a two-person room": (OWNER, PAIR),
    "admin": (ADMIN, ROOM),
    "creator of a v12 room": (MAKER, V12),
    "additional creator of a v12 room": (COMAKER, V12),
    "member of a v12 room": (BOB, V12),
    "creator of a v12 direct chat": (OWNER, DM12),
    "moderator of the hub's Space, in one of its rooms": (SPACEMOD, CHILD),
    "moderator of the hub's Space, in a room outside it": (SPACEMOD, ROOM2),
    "non-allowed user": ("@nobody:test", ROOM),
    "user of another homeserver": ("@mod:evil.example", ROOM),
}
ALLOWED = {
    Role.ROOM_FACILITATOR: {"facilitator by config", "facilitator by power level in this room", "admin",
                            "creator of a v12 room", "additional creator of a v12 room",
                            "moderator of the hub's Space, in one of its rooms"},
    Role.FACILITATOR: {"facilitator by config", "admin"},
    Role.ADMIN: {"admin"},
}
IGNORED = {"non-allowed user", "user of another homeserver"}  # not even told no


@pytest.fixture
async def target(tmp_path):
    target = await DispatchTarget.create(tmp_path / "data", language="en",
                                         allowed_users=[ALICE, BOB, MOD, OWNER, "@carol:test", MAKER, COMAKER,
                                                        SPACEMOD])
    target.set_levels(ROOM, {MOD: 50, "@nobody:test": 100, "@mod:evil.example": 100})
    for user in (MOD, "@nobody:test", "@mod:evil.example", BOB, FACIL, ADMIN):
        target.rooms[ROOM].add_member(user, None, None)
    target.add_room(ROOM2, {MOD: 0, ALICE: 100, BOB: 0})
    target.add_room(DM_OWNER, {OWNER: 100}, direct_with=OWNER)
    target.add_room(PAIR, {OWNER: 100})
    # v12: creators are not in the power levels (and would not count there); Bob is a member.
    target.add_room(V12, {BOB: 0}, version="12", creator=MAKER, additional_creators=(COMAKER,), members=(ALICE,))
    target.add_room(DM12, {}, version="12", creator=OWNER, direct_with=OWNER)
    target.add_room(SPACE, {SPACEMOD: 50}, version="12", creator=ALICE)
    target.add_room(CHILD, {SPACEMOD: 0}, version="12", creator=ALICE, members=(BOB,))
    target.set_levels(ROOM2, {SPACEMOD: 0})
    target.rooms[ROOM2].add_member(SPACEMOD, None, None)
    target.state(SPACE, "m.space.child", CHILD, {"via": ["test"]}, sender=ALICE)
    target.runtime.power.space_id = SPACE
    yield target
    await target.close()


def restricted_commands():
    from commands import build_registry
    found = {}
    for cmd in build_registry(None).commands:
        for c in (cmd, *cmd.subcommands.values()):
            if c.role > Role.MEMBER:
                found[c.qualified_name] = c.role
    return sorted(found.items())


RESTRICTED = restricted_commands()


def outcome(verdict) -> str:
    assert not verdict.failures, verdict.failures
    if not verdict.replies:
        return "ignored"
    return "refused" if any(r.markdown.startswith("🔒") for r in verdict.replies) else "allowed"


def test_the_registry_declares_restricted_commands_of_every_kind():
    roles = {role for _, role in RESTRICTED}
    assert roles == set(ALLOWED), RESTRICTED  # a new role needs its row in ALLOWED
    assert {"session new", "funding set", "approve", "admin announce"} <= {name for name, _ in RESTRICTED}


@pytest.mark.parametrize("name,role", RESTRICTED, ids=[n for n, _ in RESTRICTED])
async def test_every_restricted_command_against_every_role(target, name, role):
    seen = {}
    for who, (sender, room) in ROLES.items():
        seen[who] = outcome(await target.say(sender, f"!{name}", room))
    expected = {who: "ignored" if who in IGNORED else "allowed" if who in ALLOWED[role] else "refused"
                for who in ROLES}
    assert seen == expected


# Rights decided inside the command (room-scoped digests, formats, requests, other people's sessions).
INLINE = [
    ("!subscribe climate adaptation --room", Role.ROOM_FACILITATOR),
    ("!unsubscribe all --room", Role.ROOM_FACILITATOR),
    ("!subscriptions --room", Role.ROOM_FACILITATOR),
    ("!digest pause 2w --room", Role.ROOM_FACILITATOR),
    ("!digest preview --room", Role.ROOM_FACILITATOR),
    ("!session format 1 intervisie", Role.FACILITATOR),   # session 1 is the configured facilitator's
    ("!session cancel 1", Role.FACILITATOR),
    ("!session move 1 next friday 10:00", Role.FACILITATOR),
    ("!session assign 1 @bob:test reviewer", Role.FACILITATOR),
    ("!session poll close 1", Role.FACILITATOR),          # poll 1 is the configured facilitator's
    ("!request accept 1", Role.FACILITATOR),              # the lab has no Matrix contact
    ("!request decline 1", Role.FACILITATOR),
]


@pytest.mark.parametrize("text,role", INLINE, ids=[t for t, _ in INLINE])
async def test_rights_checked_inside_commands(target, text, role):
    await target.say(ALICE, "!lab request the-green-village a test of green roofs")
    seen = {}
    for who, (sender, room) in ROLES.items():
        if who in ALLOWED[role]:
            continue  # allowed ones would change the state the others are judged on
        seen[who] = outcome(await target.say(sender, text, room))
    expected = {who: "ignored" if who in IGNORED else "refused" for who in seen}
    assert seen == expected
    # And someone who may: not refused.
    sender, room = ROLES["facilitator by config"]
    assert outcome(await target.say(sender, text, room)) == "allowed"


# ----------------------------------------------------------------------------- other people's data
def text_of(verdict) -> str:
    """What the people reading the replies (and DMs) see."""
    return "\n".join(message_content(r.markdown)["body"] for r in verdict.replies)


async def _pending_reminders(target, owner):
    async with target.services.db.session() as s:
        return list((await s.scalars(select(ScheduledJob).where(
            ScheduledJob.kind == "reminder", ScheduledJob.owner == owner, ScheduledJob.status == "pending"))).all())


async def test_reminders_are_private(target):
    await target.say(ALICE, "!remindme 2d call the province about secret-plan")
    assert len(await _pending_reminders(target, ALICE)) == 2  # and the seeded one
    listed = await target.say(BOB, "!reminders")
    assert listed.replies and "secret-plan" not in text_of(listed) and "fuzz reminder" not in text_of(listed)
    for n in (1, 2):
        forget = await target.say(BOB, f"!forget {n}")
        assert forget.replies and "secret-plan" not in text_of(forget)
    assert "secret-plan" not in text_of(await target.say(BOB, "!mydata"))
    assert outcome(await target.say(BOB, "!mydata delete confirm")) == "allowed"  # his own data only
    assert outcome(await target.say(BOB, f"!admin forget {ALICE} confirm")) == "refused"
    assert len(await _pending_reminders(target, ALICE)) == 2
    assert "secret-plan" in text_of(await target.say(ALICE, "!reminders"))


async def test_reviews_are_the_reviewers_own(target):
    for line in ("!session assign 1 @carol:test presenter", f"!session assign 1 {ALICE} reviewer"):
        assert outcome(await target.say(FACIL, line)) == "allowed"
    assert outcome(await target.say(ALICE, '!review 1 strengths "secret-strength"')) == "allowed"
    for sender in (BOB, "@carol:test", MOD):
        for line in ("!review 1 show", '!review 1 strengths "overwrite"', "!review 1 submit", "!review 1"):
            verdict = await target.say(sender, line)
            assert outcome(verdict) == "refused", (sender, line, text_of(verdict))
            assert "secret-strength" not in text_of(verdict)
    shown = await target.say(ALICE, "!review 1 show")
    assert "secret-strength" in text_of(shown) and "overwrite" not in text_of(shown)


async def test_requests_are_answered_only_by_the_contact_or_a_facilitator(target):
    asked = await target.say(ALICE, "!lab request the-green-village secret-request text")
    assert "#1" in text_of(asked)
    for sender, room in ((BOB, ROOM), (MOD, ROOM), (OWNER, DM_OWNER)):
        verdict = await target.say(sender, "!request accept 1 sure", room)
        assert outcome(verdict) == "refused", text_of(verdict)
        assert not [r for r in verdict.replies if r.to_user == ALICE]  # the requester heard nothing
        for line in ("!requests", "!requests --open"):
            listed = text_of(await target.say(sender, line, room))
            assert "Green Village" not in listed and "secret-request" not in listed, listed
    accepted = await target.say(FACIL, "!request accept 1 welcome")
    assert [r for r in accepted.replies if r.to_user == ALICE]
    assert "#1 — The Green Village — accepted" in text_of(await target.say(ALICE, "!requests"))


async def test_subscriptions_are_each_ones_own(target):
    assert outcome(await target.say(ALICE, "!subscribe climate adaptation weekly")) == "allowed"
    assert outcome(await target.say(FACIL, "!subscribe mobility --room")) == "allowed"
    mine = text_of(await target.say(BOB, "!subscriptions"))
    assert "limate" not in mine and "obility" not in mine
    for line in ("!unsubscribe all", "!digest pause 2w", "!digest resume"):
        await target.say(BOB, line)
    for line in ("!unsubscribe all --room", "!digest pause 2w --room"):
        assert outcome(await target.say(BOB, line)) == "refused"
    alice = text_of(await target.say(ALICE, "!subscriptions"))
    assert "limate" in alice and "paused" not in alice.lower()
    room = text_of(await target.say(FACIL, "!subscriptions --room"))
    assert "obility" in room and "paused" not in room.lower()


async def test_space_rights_follow_the_space(target):
    """Taking the room out of the Space, or the moderator's level in the Space, takes the
    rights away at once; in the Space itself only its own levels count."""
    assert outcome(await target.say(SPACEMOD, "!session new", CHILD)) == "allowed"
    target.state(SPACE, "m.space.child", CHILD, {}, sender=ALICE)  # removed from the Space
    refused = await target.say(SPACEMOD, "!session new", CHILD)
    assert outcome(refused) == "refused"
    assert "Only a facilitator of this room (power level 50 or more) or a hub facilitator can use" \
        in text_of(refused), text_of(refused)
    target.state(SPACE, "m.space.child", CHILD, {"via": ["test"]}, sender=ALICE)
    assert outcome(await target.say(SPACEMOD, "!session new", CHILD)) == "allowed"
    target.set_levels(SPACE, {SPACEMOD: 0})
    assert outcome(await target.say(SPACEMOD, "!session new", CHILD)) == "refused"


async def test_refusals_say_who_may_in_the_readers_language(target):
    for sender, room, text, expected in [
        (ALICE, ROOM, "!session new", "Only a facilitator of this room (power level 50 or more) or a hub facilitator "
                                      "can use !session new."),
        (OWNER, DM12, "!session new", "Only a hub facilitator can use !session new here. In a room with other "
                                      "people, that room's facilitators (power level 50 or more) can use it too."),
        (MAKER, V12, "!funding set x title y", "Only a hub facilitator or an admin can use !funding set."),
        (MAKER, V12, "!admin stats", "Only an admin of the bot can use !admin stats."),
        (BOB, V12, "!sessie nieuw", "Alleen een facilitator van deze ruimte (machtsniveau 50 of meer) of een "
                                    "facilitator van de hub kan !sessie nieuw gebruiken."),
    ]:
        if text.startswith("!sessie"):
            await target.say(sender, "!taal nl", room)
        verdict = await target.say(sender, text, room)
        assert outcome(verdict) == "refused" and expected in text_of(verdict), (sender, text, text_of(verdict))
