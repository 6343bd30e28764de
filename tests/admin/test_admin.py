"""Admin in chat and privacy requests through the real dispatcher (no Matrix): who may use
`!admin`, what `!admin stats` counts, announcements exactly once, data reload counts,
`!mydata` with its confirmation step, and the AVG/GDPR promise itself: after forgetting,
no row in any table names the person (every table filled through real commands first)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from bot.framework.render import message_content
from bot.scheduler import Scheduler
from commands import build_registry
from storage import privacy
from storage.models import Base
from storage.models.core import (
    DirectRoom, OutboxMessage, RoomState, ScheduledJob,
)
from storage.digests.models import DeadlineAlert, DigestRecord, DigestSubscription
from storage.funding.models import FundingInstrument
from storage.knowledge.models import KnowledgeItem
from storage.labs.models import Lab
from storage.sessions.models import Review
from support.chat import Chat, Clock, make_services
from support.privacy_fill import ALICE, ADMIN, BOB, FACIL, NOW, fill_everything_naming, rows, tables_naming



@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6,
                                   facilitators=(FACIL, ALICE), facilitators_room="!facil:test")
    services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    yield services, Chat(services)
    await sched.shutdown()
    await services.db.dispose()


# ----------------------------------------------------------------------------- who may
@pytest.mark.parametrize("sender", [ALICE, FACIL, "@mallory:test"])
async def test_admin_commands_refuse_non_admins_politely_in_their_language(env, sender):
    services, chat = env
    if sender == ALICE:
        services.access.facilitators.discard(ALICE)   # a plain member
    for body in ("!admin stats", "!admin forget @bob:test confirm", "!admin announce all hi", "!admin data reload"):
        md = await chat.text(body, sender=sender)
        assert md.startswith("🔒") and "admin" in md and "Traceback" not in md, md
    md = await chat.text("!beheer statistieken", sender=sender)
    assert md.startswith("🔒") and "Alleen een beheerder van de bot kan `!beheer statistieken`" in md, md
    async with services.db.session() as s:   # nothing was announced
        assert not (await s.scalars(select(OutboxMessage).where(OutboxMessage.room_id == "!group:test"))).all()


async def test_help_shows_admin_commands_to_admins_only(env):
    _, chat = env
    assert "!admin" in await chat.text("!help", sender=ADMIN)
    member_help = await chat.text("!help", sender=BOB)
    assert "!admin" not in member_help and "!mydata" in member_help


# ----------------------------------------------------------------------------- stats
async def test_stats_counts_rooms_people_commands_data_and_schedules(env):
    services, chat = env
    async with services.db.transaction() as s:
        s.add_all([RoomState(room_id="!group:test", joined_at_ms=0), RoomState(room_id="!dm:test", joined_at_ms=0,
                                                                               is_direct_with=BOB)])
        lab = await s.get(Lab, (await s.scalars(select(Lab.id))).first())
        lab.last_checked = (NOW - timedelta(days=400)).date()
    await chat.send("!remindme 1h tea", sender=BOB)
    await chat.send("!subscribe climate adaptation weekly", sender=BOB)
    await chat.send("!lang nl", sender=ALICE)
    md = await chat.text("!admin stats", sender=ADMIN)
    assert "Rooms: 2 (1 of them direct chats)" in md
    assert "People the bot holds data about: 2." in md    # bob (reminder, subscription), alice (prefs)
    assert "handled in the last 24 hours: 3." in md        # the three commands before this one
    assert "Funding instruments: 41" in md and "Living labs: 26" in md and "Knowledge items: 26" in md
    assert "1 not checked in 60 days" in md
    assert "Personal reminders waiting: 1." in md and "Digest subscriptions: 1 (0 paused)" in md
    assert "No feeds are configured" in md and "dsih-bot 0" in md and "Running since" in md
    nl = await chat.text("!beheer statistieken", sender=ADMIN)
    assert "Kamers: 2" in nl and "Persoonlijke herinneringen" in nl, nl


# ----------------------------------------------------------------------------- announce
async def test_announce_all_reaches_every_community_room_once_and_escapes_html(env):
    services, chat = env
    async with services.db.transaction() as s:
        s.add_all([RoomState(room_id="!a:test", joined_at_ms=0), RoomState(room_id="!b:test", joined_at_ms=0),
                   RoomState(room_id="!dm1:test", joined_at_ms=0, is_direct_with=BOB),
                   RoomState(room_id="!dm2:test", joined_at_ms=0), DirectRoom(user_id=ALICE, room_id="!dm2:test")])
    out = await chat.send("!admin announce all **Nieuw**: de hub-dag is op 3 december <script>x</script>", sender=ADMIN)
    rooms = sorted(o.room_id for o in out if o.room_id in ("!a:test", "!b:test", "!dm1:test", "!dm2:test"))
    assert rooms == ["!a:test", "!b:test"]
    html = message_content(out[0].markdown)["formatted_body"]
    assert "<strong>Nieuw</strong>" in html and "<script>" not in html
    assert "2 kamers" in out[-1].markdown     # the admin wrote Dutch
    # The same event again (a redelivery after a crash): nothing new in the outbox.
    async with services.db.session() as s:
        before = await s.scalar(select(func.count()).select_from(OutboxMessage))
    event_id = f"{chat.prefix}again"
    from bot.framework.messages import Incoming
    for _ in range(2):
        await chat.dispatcher.handle(Incoming(sender=ADMIN, room_id="!console:test", event_id=event_id,
                                              body="!admin announce !a:test once"))
    async with services.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.room_id == "!a:test"))).all()
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == before + 2  # announcement + reply
    assert len(rows) == 2


async def test_announce_refuses_unknown_rooms_and_accepts_here(env):
    _, chat = env
    assert "not in the room" in await chat.text("!admin announce !nope:test hi", sender=ADMIN)
    # A room id of version 12 has no server part: still a room id.
    assert "not in the room" in await chat.text("!admin announce !31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM hi",
                                                sender=ADMIN)
    assert "is not a room" in await chat.text("!admin announce lobby hi", sender=ADMIN)
    assert "nobody to announce to" in await chat.text("!admin announce all hi", sender=ADMIN)
    out = await chat.send("!beheer aankondiging hier Hallo allemaal", sender=ADMIN, room="!here:test")
    assert [o.room_id for o in out] == ["!here:test", "!here:test"] and "Hallo allemaal" in out[0].markdown
    assert "Aankondiging" in out[1].markdown


# ----------------------------------------------------------------------------- data reload
async def test_data_reload_counts_added_changed_unchanged_and_keeps_edits(env):
    services, chat = env
    assert "41 unchanged" in await chat.text("!admin data reload", sender=ADMIN)
    async with services.db.transaction() as s:
        labs = (await s.scalars(select(Lab).order_by(Lab.id))).all()
        labs[0].name = "Old name"
        await s.delete(labs[1])
        funding = (await s.scalars(select(FundingInstrument).order_by(FundingInstrument.id))).all()
        funding[0].title = "changed in the bundle's place"
        funding[1].title, funding[1].updated_by = "edited here", FACIL
    md = await chat.text("!admin data reload", sender=ADMIN)
    assert "living labs: 1 added, 1 changed, 24 unchanged" in md, md
    assert "funding instruments: 0 added, 1 changed, 39 unchanged, 1 kept because they were edited here" in md, md
    assert "knowledge items: 0 added, 0 changed, 26 unchanged" in md
    async with services.db.session() as s:
        assert (await s.get(Lab, labs[0].id)).name != "Old name"
        assert (await s.get(FundingInstrument, funding[1].id)).title == "edited here"
    assert "opnieuw geladen" in await chat.text("!beheer gegevens herlaad", sender=ADMIN)


# ----------------------------------------------------------------------------- !mydata
async def test_mydata_shows_own_data_and_delete_needs_a_confirmation_in_time(env):
    services, chat = env
    await chat.send("!remindme 2h call the province", sender=BOB)
    await chat.send("!subscribe energie wekelijks", sender=BOB)
    md = await chat.text("!mydata", sender=BOB)
    assert "personal reminders: 1" in md and "call the province" in md and "digest subscriptions: 1" in md
    assert "ALICE" not in md.upper()
    # Confirming without having asked (or too late) only asks.
    md = await chat.text("!mydata delete confirm", sender=BOB)
    assert "within 10 minutes" in md and await rows(services, DigestSubscription)
    services.clock.now = NOW + timedelta(minutes=11)
    assert "within 10 minutes" in await chat.text("!mydata delete confirm", sender=BOB)
    services.clock.now = NOW + timedelta(minutes=15)
    md = await chat.text("!mydata delete confirm", sender=BOB)
    assert md.startswith("Done"), md
    assert not await rows(services, DigestSubscription)
    assert not await rows(services, ScheduledJob, ScheduledJob.kind == "reminder")
    assert "I hold no data about you" in await chat.text("!mydata", sender=BOB)


async def test_mydata_in_dutch(env):
    _, chat = env
    await chat.send("!herinner 2u bel de provincie", sender=BOB)
    md = await chat.text("!mijngegevens", sender=BOB)
    assert "Wat ik over je bewaar" in md and "persoonlijke herinneringen: 1" in md, md
    assert "\\(gepland\\)\\: bel de provincie" in md and "pending" not in md, md     # states in Dutch too
    md = await chat.text("!mijngegevens verwijder", sender=BOB)
    assert "!mijngegevens verwijder bevestig" in md
    assert "verwijderd" in await chat.text("!mijngegevens verwijder bevestig", sender=BOB)
    # Right after deleting, asking again finds nothing: not even the language of the question.
    md = await chat.text("!mijngegevens", sender=BOB)
    assert "Ik bewaar geen gegevens over je" in md and "onthouden taal" not in md, md
    assert "verwijder" not in md  # nothing to delete: no offer to
    assert "Ik bewaar geen gegevens over je" in await chat.text("!mijngegevens verwijder", sender=BOB)


def test_mydata_lines_show_moments_in_the_persons_own_zone():
    from datetime import datetime as _dt

    from bot.framework.i18n import Translator
    from storage.models.core import AuditLog
    from storage.privacy import core_rules
    head, tail = core_rules(())
    audit = [h for h in (*head.holdings, *tail.holdings) if h.model is AuditLog]
    assert audit
    t = Translator("en", "America/New_York")
    # Stored as SQLite gives it back: naive, meaning UTC. 03:30 UTC is the evening before in New York.
    row = AuditLog(at=_dt(2026, 11, 26, 3, 30), action="forget", target="x", actor="@bob:test")
    for holding in audit:
        line = holding.line(row, t)
        assert "Wednesday 25 November 2026 22:30" in line and "2026-11-26" not in line, line


async def test_admin_user_and_forget_with_confirmation(env):
    services, chat = env
    await chat.send("!remindme 2h call the province", sender=BOB)
    md = await chat.text(f"!admin user {BOB}", sender=ADMIN)
    assert "personal reminders: 1" in md and "bob" in md
    assert "I hold no data about @nobody" in await chat.text("!admin user @nobody:test", sender=ADMIN)
    assert "is not a Matrix user" in await chat.text("!admin user bob", sender=ADMIN)
    md = await chat.text(f"!admin forget {BOB}", sender=ADMIN)
    assert f"!admin forget {BOB} confirm" in md and await rows(services, ScheduledJob, ScheduledJob.owner == BOB)
    md = await chat.text(f"!admin forget {BOB} confirm", sender=ADMIN)
    assert md.startswith("Done") and BOB not in md
    assert not await rows(services, ScheduledJob, ScheduledJob.owner == BOB)
    # Another admin's pending confirmation is not this admin's.
    await chat.send("!remindme 2h again", sender=BOB)
    await chat.send(f"!admin forget {BOB}", sender=ADMIN)
    services.access.admins.add("@admin2:test")
    assert "within 10 minutes" in await chat.text(f"!admin forget {BOB} confirm", sender="@admin2:test")


# ----------------------------------------------------------------------------- the promise
def test_every_table_has_a_rule_and_every_user_column_a_holding():
    # The rules each enabled capability declares (its manifest), over every table they own.
    engine = build_registry().privacy
    tables = set(Base.metadata.tables)
    assert tables == set(engine.mentions), tables ^ set(engine.mentions)
    held = {(h.model.__tablename__, h.column) for h in engine.holdings}
    userish = ("user", "owner", "requester", "responder", "reviewer", "facilitator", "shared_by", "subscriber",
               "created_by", "actor", "target", "updated_by", "checked_by", "contact", "is_direct_with", "sender")
    missing = [f"{t.name}.{c.name}" for t in Base.metadata.tables.values() for c in t.columns
               if any(w in c.name for w in userish) and (t.name, c.name) not in held
               and f"{t.name}.{c.name}" not in engine.not_user_columns]
    assert not missing, f"columns that may hold a user id but are in no capability's privacy holdings: {missing}"


async def test_after_forgetting_no_row_in_any_table_names_the_user(env):
    services, chat = env
    await fill_everything_naming(services, chat, ALICE)
    await chat.send("!remindme 1h Bob's own reminder", sender=BOB)
    before = await tables_naming(services, ALICE)
    held = {h.model.__tablename__ for h in services.registry.privacy.holdings if h.subquery is None}
    assert held <= set(before), f"the fill did not reach: {held - set(before)}"
    assert await rows(services, DigestRecord) and await rows(services, DeadlineAlert)
    await chat.send(f"!admin forget {ALICE}", sender=ADMIN)
    md = await chat.text(f"!admin forget {ALICE} confirm", sender=ADMIN)
    assert md.startswith("Done"), md
    assert await tables_naming(services, ALICE) == {}
    # What others rely on stays, without the name; other people's data is untouched.
    reviews = await rows(services, Review)
    assert len(reviews) == 1 and privacy.is_former(reviews[0].reviewer) and not reviews[0].named
    shared = await rows(services, KnowledgeItem, KnowledgeItem.url.like("%groene-daken%"))
    assert len(shared) == 1 and shared[0].shared_by is None
    assert await rows(services, ScheduledJob, ScheduledJob.owner == BOB, ScheduledJob.kind == "reminder")
    assert "a former member" in await chat.text("!session 1", sender=FACIL)
    assert "I hold no data about" in await chat.text(f"!admin user {ALICE}", sender=ADMIN)


async def test_mydata_delete_leaves_no_row_naming_the_user_either(env):
    services, chat = env
    await fill_everything_naming(services, chat, ALICE)
    await chat.send("!mydata delete", sender=ALICE)
    assert "verwijderd" in await chat.text("!mydata delete confirm", sender=ALICE)
    assert await tables_naming(services, ALICE) == {}


async def test_forgetting_a_user_id_with_like_wildcards_touches_nobody_else(env):
    services, chat = env
    await chat.send("!remindme 1h mine", sender="@a_b:test")
    await chat.send("!remindme 1h not mine", sender="@axb:test")
    await chat.send("!mydata delete", sender="@a_b:test")
    await chat.send("!mydata delete confirm", sender="@a_b:test")
    assert await rows(services, ScheduledJob, ScheduledJob.owner == "@axb:test")
    assert not await rows(services, ScheduledJob, ScheduledJob.owner == "@a_b:test")


# ----------------------------------------------------------------------------- any input
ADMIN_TEXT = st.builds(
    lambda name, parts: name + " " + " ".join(parts),
    st.sampled_from(["!admin", "!beheer", "!admin stats", "!admin announce", "!admin announce here",
                     "!admin announce all", "!admin data", "!admin data reload", "!admin user", "!admin forget",
                     "!mydata", "!mijngegevens", "!mydata delete", "!mydata delete confirm", "!beheer vergeet"]),
    st.lists(st.one_of(st.text(max_size=30), st.sampled_from([
        "@bob:test", "@a%b:test", "@_:test", "!room:test", "all", "here", "confirm", "bevestig", "<script>x</script>",
        "[x](javascript:alert(1))", "**", "`", "\\", "%", "_", "@admin:test", "reload", "x" * 300])), max_size=5))


# As in test_properties.py: a tag we never produce, an event-handler attribute, an unsafe link.
DANGEROUS = re.compile(r"<(?!/?(p|a|ul|ol|li|strong|em|code|pre|br|hr|h\d|blockquote|table|thead|tbody|tr|th|td|del|s)\b)"
                       r"|<[^>]*\son\w+\s*=|<a (?!href=\"(https?|mailto|matrix):)")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ADMIN_TEXT, sender=st.sampled_from([ADMIN, BOB]))
async def test_any_admin_or_mydata_text_is_answered_safely(env, body, sender):
    services, chat = env
    for reply in await chat.send(body, sender=sender):
        content = message_content(reply.markdown)
        assert not DANGEROUS.search(content["formatted_body"]), (body, content["formatted_body"])
        assert "went wrong on my side" not in content["body"], (body, content["body"])


async def test_stats_say_how_long_the_backlog_takes_under_the_rate_limit_and_what_to_do(env):
    """The runtime's extras["send_rate"] (bot.ratelimit.RateWatch.state) is None while
    the homeserver lets everything through; under 429s the line names the wait and the fix."""
    from bot.ratelimit import RateWatch
    services, chat = env
    clock = [0.0]
    watch = RateWatch("@dsih:test", "https://hs.test", clock=lambda: clock[0])
    services.extras["send_rate"] = watch.state
    assert "rate-limiting" not in await chat.text("!admin stats", sender=ADMIN)
    for _ in range(24):
        watch.note_limited(5.0)
        clock[0] += 5
        watch.note_sent()
    md = await chat.text("!admin stats", sender=ADMIN)
    assert "rate-limiting the bot" in md and "/_synapse/admin/v1/users/@dsih:test/override_ratelimit" in md
    assert '{"messages_per_second": 0, "burst_count": 0}' in md and "rc_message" in md
    await chat.text("!lang nl", sender=ADMIN)
    md = await chat.text("!admin stats", sender=ADMIN)
    assert "remt de bot af" in md and "override_ratelimit" in md
