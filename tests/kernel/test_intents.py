"""Issue 19, understanding: intents are declared per capability (not one central list),
a time phrase is found anywhere in a sentence, meeting slots from relative phrases stay in
working hours, amounts and years are read in both languages, and words both languages share
do not decide the reply language. Property tests: no input makes these raise anything but
the friendly errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from bot.framework.capability import load
from bot.framework.i18n import language_signal
from bot.framework.intents import Intent, find_when
from bot.framework.timeparse import TimeParseError, parse_when
from commands import ENABLED
from commands.funding.amounts import amounts_in, year_window

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=AMS).astimezone(timezone.utc)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def test_each_capability_declares_its_own_intents():
    caps = load(ENABLED)
    declared = {c.name: [i.name for i in c.intents] for c in caps}
    for name in ("sessions", "reminders", "digests", "knowledge", "labs", "admin"):
        assert declared[name], f"{name} declares no intents"
        assert all(i.startswith(name + ".") for i in declared[name]), declared[name]
    assert all(isinstance(i, Intent) for c in caps for i in c.intents)


@pytest.mark.parametrize("sentence,expected,phrase", [
    ("remind me on friday at 3pm about the funding deadline", local(2026, 11, 27, 15), "on friday at 3pm"),
    ("wil je me vrijdag om kwart voor negen herinneren aan het overleg", local(2026, 11, 27, 8, 45),
     "vrijdag om kwart voor negen"),
    ("plan een sessie volgende dinsdag 14:00 over de digitale tweeling", local(2026, 12, 1, 14), None),
    ("can you set up a session for thursday at 10?", local(2026, 11, 26, 10), None),
    ("remind me tonight at 8 to mail the minutes", local(2026, 11, 25, 20), None),
])
def test_find_when_anywhere_in_a_sentence(sentence, expected, phrase):
    found = find_when(sentence.split(), lang="nl", tz="Europe/Amsterdam", now=NOW)
    assert found is not None and found.when == expected, found
    if phrase:
        assert found.phrase == phrase


def test_no_time_in_a_sentence_is_none():
    assert find_when("wat weet je over mij".split(), lang="nl", tz="Europe/Amsterdam", now=NOW) is None


@pytest.mark.parametrize("now_local,phrase,expected", [
    (local(2026, 11, 25, 0, 40), "over 2 weken", local(2026, 12, 9, 9, 0)),     # night: start of the working day
    (local(2026, 11, 25, 23, 10), "in 2 weeks", local(2026, 12, 9, 17, 0)),     # late evening: end of working hours
    (local(2026, 11, 25, 10, 7), "over 2 weken", local(2026, 12, 9, 10, 15)),   # daytime: rounded to the quarter
    (local(2026, 11, 25, 10, 0), "over 3 dagen", local(2026, 11, 28, 10, 0)),
])
def test_meeting_slots_from_relative_phrases_stay_in_working_hours(now_local, phrase, expected):
    now = now_local.astimezone(timezone.utc)
    got = parse_when(phrase, lang="nl", tz="Europe/Amsterdam", now=now, working_hours=True).when
    assert got == expected
    # Not for reminders: "over 2 uur" stays two hours from now, and without working_hours nothing moves.
    assert parse_when("over 2 uur", lang="nl", tz="Europe/Amsterdam", now=now, working_hours=True).when == \
        now + timedelta(hours=2)
    assert parse_when(phrase, lang="nl", tz="Europe/Amsterdam", now=now).when.astimezone(AMS).time() == \
        now_local.time()


@pytest.mark.parametrize("text,at_least,at_most", [
    ("subsidie voor klimaatadaptatie van minimaal 1 miljoen", 1_000_000, None),
    ("subsidies boven 5 ton voor energie", 500_000, None),
    ("funding for energy over 1 million", 1_000_000, None),
    ("grants above 5 million for climate adaptation", 5_000_000, None),
    ("subsidie tot € 50.000 voor circulaire projecten", None, 50_000),
    ("funding up to €50,000 for circular projects", None, 50_000),
    ("over 2 weken", None, None),                        # not an amount
    ("Horizon Europe 2021-2027", None, None),
])
def test_amounts_in_both_languages(text, at_least, at_most):
    bounds, _ = amounts_in(text)
    assert (bounds.at_least, bounds.at_most) == (at_least, at_most)


@pytest.mark.parametrize("text,kind,year", [
    ("what funding opens in 2027?", "opens", 2027), ("welke subsidies gaan open in 2027?", "opens", 2027),
    ("which calls close in 2027?", "closes", 2027), ("welke oproepen sluiten in 2027?", "closes", 2027),
    ("Horizon Europe 2021-2027 klimaat", None, None), ("subsidie klimaat 2027", None, None),
])
def test_years_are_windows(text, kind, year):
    assert year_window(text)[:2] == (kind, year)


@pytest.mark.parametrize("text,lang", [
    ("which subsidies close soon?", "en"), ("subsidies for municipalities", "en"),
    ("zijn er subsidies voor data?", "nl"), ("welke subsidies sluiten binnenkort?", "nl"),
])
def test_shared_words_do_not_decide_the_language(text, lang):
    assert language_signal(text)[0] == lang
    assert language_signal("subsidies data") == (None, False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_find_when_and_amounts_never_crash(text):
    found = find_when(text.split(), lang="nl", tz="Europe/Amsterdam", now=NOW)
    assert found is None or found.when > NOW
    amounts_in(text)
    year_window(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["half", "kwart", "over", "voor", "drie", "tien", "om", "morgen", "'s", "middags",
                                 "avonds", "past", "to", "quarter", "two", "uur", "12", "0", "25", "vannacht",
                                 "eind", "begin", "januari", "week", "volgende"]), max_size=7))
def test_clock_words_read_or_refuse(words):
    """Any mix of clock words is read as a future moment or refused with an example, never raises otherwise."""
    try:
        r = parse_when(" ".join(words), lang="nl", tz="Europe/Amsterdam", now=NOW)
    except TimeParseError as exc:
        assert "example" in exc.params
    else:
        assert r.when > NOW
