"""Living labs through the real dispatcher: search, profile, errors for places, the access
request flow (request -> contact/facilitators -> accept/decline -> requester told),
exactly-once behaviour, Dutch, and property tests for search input."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, update

from bot.framework.render import message_content
from storage.models.core import OutboxMessage
from storage.labs.models import Lab, LabRequest
from support.html_safety import html_problems, internal_errors
from support.labs_env import LabsChat, distances, lab_ids, labs_services, plain


@pytest.fixture
async def chat(tmp_path):
    services = await labs_services(tmp_path)
    yield LabsChat(services)
    await services.db.dispose()


async def test_labs_near_sorts_by_distance_and_shows_km(chat):
    out = await chat.text("!labs --near Delft")
    ids = lab_ids(out)
    assert set(ids[:2]) == {"the-green-village", "digicampus"}
    km = distances(out)
    assert km == sorted(km) and km[0] == 0
    assert "Delft (Zuid-Holland)" in out


async def test_labs_words_with_inline_place(chat):
    out = await chat.text("!labs climate adaptation near Zwolle")
    assert lab_ids(out)[0] == "living-lab-ruimtelijke-adaptatie-overijssel"
    assert "near Zwolle" in out


async def test_labs_within_is_a_hard_radius(chat):
    out = await chat.text("!labs --near Eindhoven --within 20km")
    ids = lab_ids(out)
    assert ids and all(d <= 20 for d in distances(out))
    assert "stratumseind-living-lab" in ids and "smart-mobility-helmond" in ids
    assert "the-green-village" not in ids


async def test_labs_province_and_theme_filters(chat):
    out = await chat.text("!labs --province Limburg --theme data-digital-twins")
    ids = lab_ids(out)
    assert set(ids) == {"brightlands-smart-services-campus", "public-services-lab-heerlen"}
    out = await chat.text("!labs --provincie friesland")
    assert lab_ids(out) == ["duurzaam-ameland"]
    out = await chat.text("!labs --theme hittestress --near Zwolle")   # theme by alias
    assert lab_ids(out)[0] == "living-lab-ruimtelijke-adaptatie-overijssel"


async def test_unknown_and_ambiguous_places(chat):
    out = await chat.text("!labs --near Zwole")
    assert "Zwole" in out and "Zwolle" in out and "Did you mean" in out
    out = await chat.text("!labs energy near Bergen")
    assert "several places called Bergen" in out and "Bergen (L.)" in out
    out = await chat.text("!labs --province Limburgg")
    assert "not a Dutch province" in out and "Limburg" in out
    out = await chat.text("!labs --theme quantum")
    assert "not a topic I know" in out and "!topics" in out   # the kernel's one topic converter
    out = await chat.text("!labs --within 30km")
    assert "--near" in out


async def test_lab_profile_and_unknown_id(chat):
    out = await chat.text("!lab the-green-village")
    assert "The Green Village" in out and "Delft, Zuid-Holland" in out and "regulation" in out
    assert "!lab request the-green-village" in out
    out = await chat.text("!lab green-village")
    assert "no living lab with the id" in out and "the-green-village" in out


async def test_plain_language_questions(chat):
    out = await chat.text("welke proeftuinen zijn er voor datagedreven werken in Limburg?", direct=True)
    assert "Limburg" in out
    assert set(lab_ids(out)[:2]) == {"brightlands-smart-services-campus", "public-services-lab-heerlen"}
    out = await chat.text("@bot:test which living labs for climate adaptation are near Zwolle?")
    assert lab_ids(out)[0] == "living-lab-ruimtelijke-adaptatie-overijssel"
    out = await chat.text("any living labs near Zwole?", direct=True)
    assert "Zwolle" in out and "don't know" in out
    # Not about labs: not answered by the labs handler.
    out = await chat.text("what is the weather like?", direct=True)
    assert "did not understand" in out


async def test_dutch_answers(tmp_path):
    services = await labs_services(tmp_path, language="nl")
    chat = LabsChat(services)
    out = await chat.text("!proeftuinen klimaatadaptatie in de buurt van Zwolle")
    assert "Proeftuinen" in out and "in de buurt van Zwolle" in out and "Thema's" in out
    out = await chat.text("!proeftuin the-green-village")
    assert "Faciliteiten" in out
    await services.db.dispose()


async def _outbox(services):
    async with services.db.session() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_request_to_facilitators_then_accept_notifies_requester(chat):
    out = await chat.send("!lab request the-green-village We want to test heat-stress sensors on a square",
                          sender="@alice:test", room="!r1:test")
    reply = [o for o in out if o.room_id == "!r1:test"][0].markdown
    assert "#1" in reply and "recorded" in reply and "facilitators" in reply
    to_facil = [o for o in out if o.to_user == "@facil:test"]
    assert len(to_facil) == 1 and "heat-stress sensors" in plain(to_facil[0].markdown)
    assert "!request accept 1" in to_facil[0].markdown

    # A member who is neither contact nor facilitator cannot answer.
    out = await chat.text("!request accept 1 ok", sender="@mallory:test")
    assert "Only the lab's contact or a facilitator" in out

    out = await chat.send("!request accept 1 Welcome, mail us for a date", sender="@facil:test", room="!f:test")
    told = [o for o in out if o.to_user == "@alice:test"]
    assert len(told) == 1 and "accepted" in told[0].markdown and "mail us for a date" in plain(told[0].markdown)
    assert any("now accepted" in o.markdown for o in out if o.room_id == "!f:test")

    out = await chat.text("!requests", sender="@alice:test")
    assert "#1" in out and "accepted" in out and "mail us" in out
    out = await chat.text("!request decline 1", sender="@facil:test")
    assert "already answered" in out
    async with chat.services.db.session() as s:
        req = await s.get(LabRequest, 1)
        assert (req.status, req.responder) == ("accepted", "@facil:test")


async def test_request_goes_to_the_lab_matrix_contact_who_can_decline(chat):
    async with chat.services.db.transaction() as s:
        await s.execute(update(Lab).where(Lab.id == "digicampus").values(contact="@carol:test"))
    out = await chat.send("!lab request digicampus test a chatbot for permits", sender="@alice:test")
    assert [o.to_user for o in out if o.to_user] == ["@carol:test"]
    assert any("lab's contact" in o.markdown for o in out if o.room_id)
    out = await chat.text("!requests --open", sender="@carol:test")
    assert "#1" in out and "chatbot for permits" in out
    out = await chat.send("!request decline 1 Fully booked this year", sender="@carol:test")
    told = [o for o in out if o.to_user == "@alice:test"]
    assert len(told) == 1 and "declined" in told[0].markdown and "Fully booked" in told[0].markdown


async def test_request_to_facilitators_room(tmp_path):
    services = await labs_services(tmp_path, facilitators_room="!facil-room:test")
    chat = LabsChat(services)
    out = await chat.send("!lab request stratumseind-living-lab measure crowd noise at night")
    assert [o.room_id for o in out if o.room_id == "!facil-room:test"]
    assert not [o for o in out if o.to_user]
    await services.db.dispose()


async def test_requests_are_handled_exactly_once(chat):
    from bot.framework.messages import Incoming
    msg = Incoming(sender="@alice:test", room_id="!r:test", event_id="$same", body="!lab request de-ceuvel compost toilets")
    first = await chat.dispatcher.handle(msg)
    again = await chat.dispatcher.handle(msg)   # redelivered after a crash
    assert first and again == []
    async with chat.services.db.session() as s:
        assert len((await s.scalars(select(LabRequest))).all()) == 1
    rows = [r for r in await _outbox(chat.services) if r.to_user == "@facil:test"]
    assert len(rows) == 1


async def test_request_survives_restart(tmp_path):
    services = await labs_services(tmp_path)
    await LabsChat(services).send("!lab request de-ceuvel compost toilets", sender="@alice:test")
    await services.db.dispose()
    services = await labs_services(tmp_path)   # same data dir: "restart"
    chat = LabsChat(services)
    out = await chat.send("!request accept 1 yes", sender="@admin:test")
    assert [o.to_user for o in out if o.to_user] == ["@alice:test"]
    async with services.db.session() as s:
        assert (await s.get(LabRequest, 1)).status == "accepted"
        assert len((await s.scalars(select(Lab))).all()) == 26   # sample data not loaded twice
    await services.db.dispose()


async def test_request_errors(chat):
    out = await chat.text("!lab request nope-lab hi there friends")
    assert "no living lab" in out
    out = await chat.text("!lab request de-ceuvel")
    assert "Missing argument" in out
    out = await chat.text("!request accept 99 hi", sender="@facil:test")
    assert "no request #99" in out
    out = await chat.text("!requests", sender="@nobody:test")
    assert "not asked any lab" in out


async def test_about_counts_labs(chat):
    out = await chat.text("!about")
    assert "living labs: 26" in out


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    import asyncio
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(labs_services(tmp_path_factory.mktemp("labs-prop")))
    yield loop, LabsChat(services)
    loop.run_until_complete(services.db.dispose())
    loop.close()


def assert_safe_html(html: str) -> None:
    """Only the Matrix tag subset, no event-handler attributes, links only to safe schemes:
    user text may appear, but only as text."""
    from html.parser import HTMLParser

    from bot.framework.render import ALLOWED_TAGS

    class Check(HTMLParser):
        def handle_starttag(self, tag, attrs):
            assert tag in ALLOWED_TAGS and tag not in ("img", "script", "iframe"), (tag, html)
            for name, value in attrs:
                assert name in ("href", "start", "class"), (name, html)
                if name == "href":
                    assert value.split(":", 1)[0] in ("https", "http", "mailto", "matrix"), (value, html)

    Check().feed(html)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400), st.sampled_from(["!labs ", "!labs --near ", "!lab ", "!proeftuinen in ",
                                                "!labs x --province ", "", "!lab request de-ceuvel "]))
def test_search_input_never_crashes_or_leaks_html(shared, text, prefix):
    loop, chat = shared
    body = prefix + text
    if not body.strip():
        return
    out = loop.run_until_complete(chat.send(body, direct=True))
    for o in out:
        assert_safe_html(message_content(o.markdown)["formatted_body"])
        assert not html_problems(message_content(o.markdown)["formatted_body"]), (body, o.markdown)
    assert internal_errors(chat.services) == 0, body  # any language


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
                        "**bold** _it_ `code`", "<b>hi</b>", "&lt;script&gt;"]),
       st.sampled_from(["!labs {}", "!labs --near {}", "welke proeftuinen voor {} in Limburg?",
                        "!lab request de-ceuvel {} please"]))
def test_hostile_markup_is_escaped(shared, payload, template):
    loop, chat = shared
    out = loop.run_until_complete(chat.send(template.format(payload), direct=True))
    for o in out:
        assert_safe_html(message_content(o.markdown)["formatted_body"])
        assert "**bold**" not in o.markdown or "\\*\\*bold" in o.markdown


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["", " near Zwolle", " in Limburg", " binnen 30 km van Heerlen",
                                              " bij Bergen", " near Zwole", " within 99999 km of Assen"]))
def test_parse_words_never_crashes(text, place):
    from storage.labs.records import MAX_RADIUS_KM, parse_words
    q = parse_words(text + place)
    assert q.within_km is None or 0 < q.within_km <= MAX_RADIUS_KM
    assert q.province is None or q.province in {
        "Drenthe", "Flevoland", "Fryslân", "Gelderland", "Groningen", "Limburg", "Noord-Brabant", "Noord-Holland",
        "Overijssel", "Utrecht", "Zeeland", "Zuid-Holland"}
    for res in q.unresolved:
        assert res.place is None


async def test_all_labs_are_counted_and_reachable_with_more(chat):
    first = await chat.text("!labs")
    assert "(26)" in first
    seen = lab_ids(first)
    for _ in range(10):
        more = lab_ids(await chat.text("!more"))
        if not more:
            break
        seen += more
    assert len(seen) == len(set(seen)) == 26


async def test_empty_radius_names_the_nearest_lab(chat):
    md = await chat.text("!labs --near Maastricht --within 10km")
    assert "I found no living labs within 10 km of Maastricht" in md
    assert "The nearest is" in md and "Heerlen" in md and "21 km away" in md


async def test_facilities_in_the_users_language(chat):
    assert "phytoremediation" in await chat.text("!lab de-ceuvel")
    dutch = await chat.text("!proeftuin de-ceuvel")
    assert "fytoremediatie" in dutch and "phytoremediation" not in dutch
    assert "fytoremediatie" in await chat.text("!proeftuinen vervuilde bodem planten")


async def test_an_index_of_an_older_version_is_rebuilt_at_start_up(tmp_path):
    from sqlalchemy import text
    from storage.labs.dataset import DATASET
    from storage.labs.records import LABS_INDEX
    services = await labs_services(tmp_path)
    try:
        async with services.db.transaction() as s:
            await s.execute(text("UPDATE kv SET value = 'old' WHERE key = 'search.version:labs_search'"))
            await s.execute(text("DELETE FROM labs_search WHERE doc_id = 'de-ceuvel'"))
            await s.execute(text("INSERT INTO labs_search (doc_id, name, themes, facilities, body) "
                                 "VALUES ('de-ceuvel', '', '', '', '')"))
        await DATASET.start(services)
        async with services.db.session() as s:
            assert not await LABS_INDEX.needs_rebuild(s)
            assert "de-ceuvel" in [d for d, _ in await LABS_INDEX.search(s, "fytoremediatie")]
    finally:
        await services.db.dispose()


async def test_tell_me_more_about_a_lab_shows_its_profile(tmp_path):
    from support.funding_env import FundingChat, funding_services
    services = await funding_services(tmp_path, modules=None)   # funding is asked first: must not claim it
    try:
        chat = FundingChat(services)
        md = await chat.text("tell me more about the green village")
        assert "**The Green Village** (`the-green-village`)" in md and "Utrecht" not in md
        assert "(`de-ceuvel`)" in await chat.text("vertel me meer over De Ceuvel")
        assert "ID: sbir" in (await chat.text("what is SBIR?")).replace("\\", "")
    finally:
        await services.db.dispose()


async def test_a_near_search_without_radius_says_how_far_it_looked(chat):
    out = await chat.text("!labs --near Eindhoven")
    assert "Nearest first, up to" in out and "from Eindhoven" in out and "--within 25km" in out, out
    # With a radius it said how far already: no such line.
    assert "Nearest first" not in await chat.text("!labs --near Eindhoven --within 30km")


async def test_empty_hints_suggest_only_what_the_search_had(chat):
    from storage import topics
    empty = []
    for topic in topics.all_topics():
        province = await chat.text(f"!labs --province Zeeland --theme {topic.id}")
        if "I found no living labs" in province:
            empty.append(topic.id)
            assert "another province" in province and "radius" not in province, province
    assert empty  # the bundled data has themes without a lab in Zeeland
    radius = await chat.text(f"!labs --near Vlissingen --within 5km --theme {empty[0]}")
    assert "larger radius" in radius, radius
    plain = await chat.text("!labs quantumcomputer onderwaterdrones")
    assert "radius" not in plain and "province" not in plain, plain
