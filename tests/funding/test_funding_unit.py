"""Funding Lane: status derivation, question understanding, formatting, filters, and
property tests (no input crashes, no unescaped HTML)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.framework.render import message_content
from commands.funding.commands import understand
from storage.funding.records import status_of
from storage.funding.models import FundingInstrument
from support.funding_env import NOW, FundingChat, funding_services, result_ids
from support.html_safety import html_problems, internal_errors


def inst(**kw):
    base = dict(id="x", title="X", level="eu", deadline_model="single", deadlines=[], themes=[],
                eligible_applicants=[], opens_on=None)
    base.update(kw)
    return FundingInstrument(**base)


def dl(at, label="deadline"):
    return {"at": at, "tz": "Europe/Brussels", "label": label}


# Status rules: tests/funding/test_funding_status.py.


def test_understand_dutch_and_english():
    u = understand("is er subsidie voor klimaatadaptatie voor gemeenten?", NOW)
    assert u.filters.applicant == "municipality" and u.filters.theme == "climate-adaptation"
    assert "klimaatadaptatie" in u.query and "gemeenten" not in u.query
    u = understand("which EU funding is there for biodiversity in provinces?", NOW)
    assert u.filters.level == "eu" and u.filters.applicant == "province" and u.filters.theme == "soil-biodiversity"
    u = understand("welke provinciale subsidies sluiten binnen 3 maanden en zijn nu open?", NOW)
    assert u.filters.level == "provincial" and u.filters.closing_within == timedelta(days=90) and u.filters.open
    u = understand("any grants closing this month for SMEs", NOW)
    end_of_month = datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc)
    assert u.filters.applicant == "sme" and u.filters.closing_within == end_of_month - NOW
    assert understand("welke proeftuinen zijn er voor klimaatadaptatie?", NOW) is None  # not about funding


@pytest.mark.parametrize("question, end", [
    ("welke subsidies sluiten binnenkort?", NOW + timedelta(days=60)),
    ("welke deadlines zijn er deze maand?", datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc)),
    ("welke subsidies sluiten dit jaar?", datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)),
    ("subsidies voor klimaat die voor de zomer sluiten", datetime(2027, 6, 21, tzinfo=timezone.utc)),
    ("what grants close in the next two months?", NOW + timedelta(days=60)),
    ("funding closing before March", datetime(2027, 3, 1, tzinfo=timezone.utc)),
    ("welke subsidies sluiten voor 15 januari?", datetime(2027, 1, 15, tzinfo=timezone.utc)),
    ("grants with a deadline within 3 weeks", NOW + timedelta(days=21)),
    ("which deadlines are coming up?", NOW + timedelta(days=60)),
])
def test_deadline_questions_become_a_window(question, end):
    u = understand(question, NOW)
    assert u is not None and u.filters.closing_within == end - NOW, (question, u)
    assert not {"sluiten", "close", "closing", "deadlines", "binnenkort", "zomer", "march"} & set(u.query.split())


def test_open_question_is_a_filter_not_a_window():
    u = understand("welke subsidies zijn nu open?", NOW)
    assert u.filters.open and u.filters.closing_within is None and not u.query


@pytest.fixture
async def chat(tmp_path):
    services = await funding_services(tmp_path)
    yield FundingChat(services)
    await services.db.dispose()


async def test_listing_formatting_and_record(chat):
    md = await chat.text("!funding --open")
    # Past stage 1, a two-stage call takes no new applicants: not "open".
    assert "life-strategic-integrated-projects-2026" not in md and "limburg-leefbaarheidsfonds" in md
    md = await chat.text("!funding LIFE strategic integrated projects")
    assert "closed to new applicants (stage 2 by invitation)" in md
    assert "days left" in md and "€10,000,000 – €30,000,000" in md and "60%" in md and "(estimate)" in md
    md = await chat.text("!subsidie life-strategic-integrated-projects-2026")
    assert "€ 10.000.000" in md and "fase 2" in md and "donderdag 4 maart 2027 17:00 (nog 101 dagen) (schatting)" in md
    assert "Wie mag aanvragen" in md
    assert "**Stand van zaken:** gesloten voor nieuwe aanvragers (fase 2 alleen op uitnodiging)" in md


async def test_filters_and_zero_hits(chat):
    md = await chat.text("!funding circular economy --level local --applicant water_board")
    assert "No funding instruments found" in md and "removed the last" in md
    md = await chat.text("!funding klimaatadaptie")
    assert "klimaatadaptatie" in md  # typo suggestion
    md = await chat.text("!funding --theme hittestress --level provincial")
    ids = result_ids(md)
    assert ids and "zuid-holland-klimaatadaptatie" in ids
    md = await chat.text("!funding --theme klimaatadaptie")
    assert "not a topic" in md and "klimaatadaptatie" in md
    md = await chat.text("!funding --min-budget 20M --closing-within 200d")
    assert set(result_ids(md)) == {"life-strategic-integrated-projects-2026", "horizon-mission-soil-2027"}


async def test_deadlines(chat):
    md = await chat.text("!deadlines 200d")
    assert md.index("life-strategic") < md.index("innovatiebudget") < md.index("horizon-mission-soil")
    md = await chat.text("!deadlines 7d")
    assert "No funding deadlines in the next 7 days" in md and "The next one is" in md


async def test_set_requires_role_validates_and_logs(chat):
    from sqlalchemy import select
    from storage.models.core import AuditLog
    md = await chat.text("!funding set sbir-innovatiecompetitie grant_max_eur 100000")
    assert "facilitator" in md
    md = await chat.text("!funding set sbir-innovatiecompetitie cofinancing_rate 3", sender="@facil:test")
    assert "not valid" in md
    md = await chat.text("!funding set sbir-innovatiecompetitie grant_max_eur 250000", sender="@facil:test")
    assert "Updated" in md
    md = await chat.text("!funding set sbir-innovatiecompetitie deadlines 2027-05-01 17:00 Europe/Brussels round 1",
                         sender="@facil:test")
    assert "Updated" in md
    md = await chat.text("!funding sbir-innovatiecompetitie")
    assert "€250,000" in md and "round 1" in md
    async with chat.services.db.session() as s:
        logs = (await s.scalars(select(AuditLog).where(AuditLog.action == "funding.set"))).all()
    assert [l.actor for l in logs] == ["@facil:test", "@facil:test"]
    assert logs[0].detail["new"] == 250000


async def test_question_answers_with_filters(chat):
    md = await chat.text("@bot: which EU funding is there for biodiversity in provinces?", direct=False)
    assert "I understood your question" in md and "level **EU**" in md
    assert result_ids(md)[0] in {"life-nature-biodiversity-2026", "horizon-mission-soil-2027"}


HOSTILE = ['"', '*', 'NEAR(a b)', '(', ')', '-', 'OR', 'AND NOT', "'; DROP TABLE funding_instruments; --",
           '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '[x](javascript:alert(1))', 'a' * 10_000,
           'klimaat ' * 1500, '^', ':', '{', '}', '\x00', 'ü', '💶']


@pytest.mark.parametrize("q", HOSTILE)
async def test_injection_like_queries(chat, q):
    md = await chat.text(f"!funding {q}")
    html = message_content(md)["formatted_body"].lower()
    assert "<script" not in html and "<img" not in html and "href=\"javascript" not in html
    assert internal_errors(chat.services) == 0, md  # any language


words = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE), st.sampled_from(
    ["klimaat", "circular", "eu", "subsidie", "--open", "--level", "eu", "--theme", "bodem", "--closing-within",
     "30d", "--min-budget", "1M", "--applicant", "gemeente", '"', "--niveau", "lokaal"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(words, max_size=8), cmd=st.sampled_from(["!funding", "!subsidie", "!deadlines", "@bot:"]))
async def test_property_any_input_any_filters(chat, parts, cmd):
    body = cmd + " " + " ".join(parts)
    out = await chat.send(body, direct=True)
    for o in out:
        assert not html_problems(message_content(o.markdown)["formatted_body"]), (body, o.markdown)
    assert internal_errors(chat.services) == 0, body  # any language


TIME_WORDS = st.sampled_from(["voor", "before", "de", "zomer", "maart", "march", "31", "februari", "binnen", "next",
                              "two", "twee", "weken", "months", "deze", "dit", "jaar", "maand", "sluiten",
                              "close", "binnenkort", "coming", "up", "0", "999", "een"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(TIME_WORDS, st.text(max_size=12)), max_size=12))
def test_time_phrases_never_raise_and_stay_in_range(words):
    from commands.funding.deadline_words import window
    text = " ".join(words)
    w = window(text, NOW)
    if w is not None:
        assert timedelta(days=1) <= w.span <= timedelta(days=1100) + timedelta(days=366)
    u = understand(text, NOW)
    assert u is None or u.filters.closing_within is None or u.filters.closing_within >= timedelta(days=1)
