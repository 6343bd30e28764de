"""Fill every table with rows naming one user, through real commands where there is one,
and find which tables name a user afterwards (tests of storage/privacy.py, on SQLite in
tests/admin/test_admin.py and on PostgreSQL in tests/storage_core/test_privacy_storage.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select, text

from commands.digests import delivery
from storage.models.core import DirectRoom, HandledEvent, RoomState
from storage.digests.models import ChangeAlert, DeadlineAlert
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.labs.models import Lab
from storage.brokerage.models import Interest as BrokerInterest, Introduction as BrokerIntroduction

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
ADMIN, FACIL, ALICE, BOB = "@admin:test", "@facil:test", "@alice:test", "@bob:test"
GROUP = dict(room="!group:test", power_level=100, room_grants_roles=True)


async def rows(services, model, *where):
    async with services.db.session() as s:
        return list((await s.scalars(select(model).where(*where))).all())


async def fill_everything_naming(services, chat, user):
    """Every table gets rows naming `user`, through real commands where there is one."""
    as_user = dict(sender=user)
    await chat.send("!funding klimaatadaptatie voor gemeenten", **as_user)        # kv: language memory
    await chat.send("!lang nl", **as_user)                                          # user_prefs
    await chat.send("!tz Europe/Amsterdam", **as_user)
    await chat.send("!lang", sender="@other:test")
    await chat.send("!remindme 1h bel de provincie", **as_user)                     # scheduled_jobs
    await chat.send("!subscribe klimaatadaptatie wekelijks", **as_user)             # digest_subscriptions
    await chat.send("!subscribe energie --room", **as_user, **GROUP)                # room subscription created_by
    lab = (await rows(services, Lab))[0]
    await chat.send(f"!lab request {lab.id} We willen hittestress-sensoren testen", **as_user)  # lab_requests
    await chat.send(f"!lab request {lab.id} Bob wil ook testen", sender=BOB)
    await chat.send(f"!request accept 2 welkom {user}", **as_user)                 # responder + to_user/mentions
    await chat.send("!request decline 1 helaas", sender=FACIL)                    # DM to user
    await chat.send('!session new "Groene daken" 2026-12-01 14:00', **as_user, **GROUP)   # facilitator
    await chat.send('!session new "Hittestress" 2026-12-02 14:00', sender=FACIL, **GROUP)
    await chat.send(f"!session assign 2 {user} reviewer", sender=FACIL, **GROUP)  # participant, DM
    await chat.send(f"!session assign 1 {BOB} presenter", **as_user, **GROUP)
    await chat.send("!session assign 1 @rev:test reviewer", **as_user, **GROUP)
    await chat.send("!review 2 impact 4 goed plan", **as_user)                     # session_reviews
    await chat.send("!review 2 submit --named", **as_user)
    await chat.send(f'!session action 2 "Offerte opvragen" {user} 2026-12-20', sender=FACIL, **GROUP)  # owner
    await chat.send(f'!session action 1 "Plan delen" {BOB} 2026-12-20', **as_user, **GROUP)           # created_by
    await chat.send('!session poll "Planning" 2026-12-08 14:00 | 2026-12-09 10:00', **as_user, **GROUP)
    await chat.send('!session poll "Volgende" 2026-12-10 14:00 | 2026-12-11 10:00', sender=FACIL, **GROUP)
    await chat.send("!vote 2 1", **as_user, **GROUP)                                # session_poll_votes
    await chat.send('!share https://example.org/groene-daken "Groene daken in Zwolle" #klimaatadaptatie', **as_user)
    # Brokerage: organisation, interests, introductions both ways, a calendar feed token.
    await chat.send("!organisation Gemeente Zwolle, gemeente, Overijssel", **as_user)   # broker_profiles
    await chat.send('!interest dumava-2026 "ons stadhuis verduurzamen"', **as_user)     # broker_interests
    await chat.send('!interest dumava-2026 "scholen"', sender=BOB)
    await chat.send('!interest dumava-2025 "gemaal"', sender=BOB)
    await chat.send('!interest dumava-2025 "zwembad"', **as_user)
    mine = {i.ref_id: i.id for i in await rows(services, BrokerInterest)}
    bobs = {i.ref_id: i.id for i in await rows(services, BrokerInterest, BrokerInterest.user_id == BOB)}
    await chat.send(f"!introduce {bobs['dumava-2026']}", **as_user)                # broker_introductions (requester)
    await chat.send(f"!introduce {mine['dumava-2025']}", sender=BOB)              # (target)
    asked = (await rows(services, BrokerIntroduction, BrokerIntroduction.target == user))[0]
    await chat.send(f"!introduce yes {asked.id}", **as_user)                      # an introduction room
    services.settings.metrics.listen = services.settings.metrics.listen or "9464"
    await chat.send("!calendar", **as_user)                                       # broker_calendar_tokens
    funding = (await rows(services, FundingInstrument))[0]
    await chat.send(f"!funding set {funding.id} grant_max_eur 250000", **as_user)  # updated_by + audit_log
    await chat.send(f"!funding set {funding.id} budget_total_eur 7500000", **as_user)  # funding_changes.changed_by
    async with services.db.transaction() as s:   # a candidate the journals' refresh found
        s.add(FundingCandidate(source="officiele-bekendmakingen", external_id="gmb-2026-1", level="local",
                               title="Subsidieregeling klimaatadaptatie 2027"))
    candidate = (await rows(services, FundingCandidate))[0]
    await chat.send(f"!funding dismiss {candidate.id}", **as_user)                 # funding_candidates.decided_by
    async with services.db.transaction() as s:
        # What only the Matrix runtime or the bundled data write: a direct room, a lab contact,
        # an undecryptable-message key, a checked_by.
        s.add(RoomState(room_id="!dm-user:test", joined_at_ms=0, is_direct_with=user))
        s.add(DirectRoom(user_id=user, room_id="!dm-user:test"))
        s.add(HandledEvent(event_id=f"undecryptable:!group:test:{user}:sess1", room_id="!group:test"))
        (await s.get(Lab, lab.id)).contact = user
        (await s.get(FundingInstrument, funding.id)).checked_by = user
        s.add(DeadlineAlert(subscriber=user, instrument_id=funding.id, deadline_at=NOW + timedelta(days=9)))
        s.add(ChangeAlert(subscriber=user, change_key=f"{funding.id}#1", via="alert", sent_at=NOW))
    # A long answer leaves pages for !more; a digest run leaves a record.
    services.settings.bot.page_size = 1
    await chat.send("!funding klimaatadaptatie", **as_user)
    services.clock.now = NOW + timedelta(days=8)
    await delivery.run_due(services, services.clock.now)


async def tables_naming(services, user) -> dict[str, int]:
    """Every table in the database (also search indexes and other non-ORM tables), every
    value as text: which tables name `user`, in how many rows."""
    found: dict[str, int] = {}
    async with services.db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        for name in names:
            for row in (await conn.execute(text(f'SELECT * FROM "{name}"'))).all():
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str) and user in value:
                        found[name] = found.get(name, 0) + 1
                        break
    return found
