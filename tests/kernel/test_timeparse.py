"""Dates, times and durations as people type them (bot/framework/timeparse.py): a corpus of Dutch
and English phrasings with the expected local time, DST, refusals, and property tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from bot.framework.timeparse import TimeParseError, parse_duration, parse_when, split_when

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=AMS).astimezone(timezone.utc)  # a Wednesday


def local(y, mo, d, h=9, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=AMS)


# (phrase, language the user writes, expected local datetime)
CORPUS = [
    ("2026-12-03 14:00", "en", local(2026, 12, 3, 14)),
    ("2026-12-03 14:00", "nl", local(2026, 12, 3, 14)),
    ("3 december 14:00", "nl", local(2026, 12, 3, 14)),
    ("3 December 14:00", "en", local(2026, 12, 3, 14)),
    ("3 dec 14:00", "nl", local(2026, 12, 3, 14)),
    ("december 3 2pm", "en", local(2026, 12, 3, 14)),
    ("3 december om 14 uur", "nl", local(2026, 12, 3, 14)),
    ("next tuesday 14:00", "en", local(2026, 12, 1, 14)),
    ("tuesday 14:00", "en", local(2026, 12, 1, 14)),
    ("Tuesday 2pm", "en", local(2026, 12, 1, 14)),
    ("dinsdag 14 uur", "nl", local(2026, 12, 1, 14)),
    ("dinsdag 14u", "nl", local(2026, 12, 1, 14)),
    ("dinsdag 14:00", "nl", local(2026, 12, 1, 14)),
    ("dinsdag om 14.00", "nl", local(2026, 12, 1, 14)),
    ("di 14:00", "nl", local(2026, 12, 1, 14)),
    ("volgende dinsdag 14:00", "nl", local(2026, 12, 1, 14)),
    ("aanstaande vrijdag 10:00", "nl", local(2026, 11, 27, 10)),
    ("volgende week dinsdag 14:00", "nl", local(2026, 12, 1, 14)),
    ("volgende week woensdag 14u", "nl", local(2026, 12, 2, 14)),
    ("next week friday 11:00", "en", local(2026, 12, 4, 11)),
    ("maandag 9u30", "nl", local(2026, 11, 30, 9, 30)),
    ("maandag 9:30", "nl", local(2026, 11, 30, 9, 30)),
    ("woensdag 10.30", "nl", local(2026, 11, 25, 10, 30)),
    ("wednesday 9:00", "en", local(2026, 12, 2, 9)),
    ("woensdag 11:00", "nl", local(2026, 11, 25, 11)),
    ("vrijdag", "nl", local(2026, 11, 27, 9)),
    ("friday", "en", local(2026, 11, 27, 9)),
    ("friday 3pm", "en", local(2026, 11, 27, 15)),
    ("morgen 9:00", "nl", local(2026, 11, 26, 9)),
    ("morgen om 9 uur", "nl", local(2026, 11, 26, 9)),
    ("morgen om 9:00", "nl", local(2026, 11, 26, 9)),
    ("morgen", "nl", local(2026, 11, 26, 9)),
    ("morgen 12:00", "nl", local(2026, 11, 26, 12)),
    ("morgen 16u", "nl", local(2026, 11, 26, 16)),
    ("overmorgen 10:00", "nl", local(2026, 11, 27, 10)),
    ("tomorrow 9am", "en", local(2026, 11, 26, 9)),
    ("tomorrow at 9am", "en", local(2026, 11, 26, 9)),
    ("tomorrow 09:00", "en", local(2026, 11, 26, 9)),
    ("tomorrow", "en", local(2026, 11, 26, 9)),
    ("noon tomorrow", "en", local(2026, 11, 26, 12)),
    ("day after tomorrow", "en", local(2026, 11, 27, 9)),
    ("vandaag 15:00", "nl", local(2026, 11, 25, 15)),
    ("today 4pm", "en", local(2026, 11, 25, 16)),
    ("vanavond 20:00", "nl", local(2026, 11, 25, 20)),
    ("vanavond", "nl", local(2026, 11, 25, 20)),
    ("vanmiddag 15:00", "nl", local(2026, 11, 25, 15)),
    ("tonight 8pm", "en", local(2026, 11, 25, 20)),
    ("14:00", "nl", local(2026, 11, 25, 14)),
    ("9:00", "nl", local(2026, 11, 26, 9)),
    ("in 4 minutes", "en", local(2026, 11, 25, 10, 4)),
    ("in 10 min", "en", local(2026, 11, 25, 10, 10)),
    ("in 2 hours", "en", local(2026, 11, 25, 12)),
    ("in an hour", "en", local(2026, 11, 25, 11)),
    ("over 2 uur", "nl", local(2026, 11, 25, 12)),
    ("over 4 minuten", "nl", local(2026, 11, 25, 10, 4)),
    ("over een uur", "nl", local(2026, 11, 25, 11)),
    ("over 3 dagen", "nl", local(2026, 11, 28, 10)),
    ("in 2 weeks", "en", local(2026, 12, 9, 10)),
    ("over 2 weken", "nl", local(2026, 12, 9, 10)),
    ("3/12 14:00", "nl", local(2026, 12, 3, 14)),
    ("03-12-2026 14:00", "nl", local(2026, 12, 3, 14)),
    ("3-12 14:00", "nl", local(2026, 12, 3, 14)),
    ("1 januari 2027 10:00", "nl", local(2027, 1, 1, 10)),
    ("15 januari 10:00", "nl", local(2027, 1, 15, 10)),
    ("January 15 10am", "en", local(2027, 1, 15, 10)),
    ("12 maart 2027 13:30", "nl", local(2027, 3, 12, 13, 30)),
    ("12 March 2027 1:30pm", "en", local(2027, 3, 12, 13, 30)),
    ("2027-04-01", "en", local(2027, 4, 1, 9)),
    ("dinsdag 1 december 14:00", "nl", local(2026, 12, 1, 14)),
    ("Tuesday 1 December 14:00", "en", local(2026, 12, 1, 14)),
]


def test_corpus_hit_rate(report_figure):
    hits, misses = 0, []
    for phrase, lang, expected in CORPUS:
        try:
            got = parse_when(phrase, lang=lang, tz="Europe/Amsterdam", now=NOW).when
        except TimeParseError as exc:
            got = exc.message
        if got == expected:
            hits += 1
        else:
            misses.append(f"{phrase!r} ({lang}): got {got if isinstance(got, str) else got.astimezone(AMS)}, "
                          f"expected {expected}")
    rate = hits / len(CORPUS)
    report_figure(f"date phrases: {hits}/{len(CORPUS)} = {rate:.0%} resolved to the expected local time")
    assert len(CORPUS) >= 60
    assert rate >= 0.95, "\n".join(misses)


@pytest.mark.parametrize("phrase", ["blah", "gisteren 9:00", "yesterday", "1", "42", "", "   ", "<script>",
                                    "2020-01-01 10:00", "!!!", "14:00 gisteren", "vorige week dinsdag"])
def test_nonsense_and_past_are_refused_with_an_example(phrase):
    with pytest.raises(TimeParseError) as err:
        parse_when(phrase, lang="nl", tz="Europe/Amsterdam", now=NOW)
    assert "example" in err.value.params


def test_split_reads_the_longest_leading_time():
    when, rest = split_when("morgen 9:00 bel Rotterdam", lang="nl", tz="Europe/Amsterdam", now=NOW)
    assert when.when == local(2026, 11, 26, 9) and rest == "bel Rotterdam"
    when, rest = split_when("tomorrow 9am call the province", lang="en", tz="Europe/Amsterdam", now=NOW)
    assert when.when == local(2026, 11, 26, 9) and rest == "call the province"
    when, rest = split_when("in 4 minutes tea", lang="en", tz="Europe/Amsterdam", now=NOW)
    assert when.when == local(2026, 11, 25, 10, 4) and rest == "tea"


def test_wall_time_is_kept_across_dst():
    # 28 March 2027 is the spring change: 14:00 on either side stays 14:00 local.
    before = datetime(2027, 3, 26, 10, 0, tzinfo=AMS).astimezone(timezone.utc)
    got = parse_when("dinsdag 14:00", lang="nl", tz="Europe/Amsterdam", now=before).when
    assert got.astimezone(AMS).hour == 14 and got.astimezone(AMS).utcoffset() == timedelta(hours=2)
    assert got.hour == 12  # UTC


def test_other_zone():
    got = parse_when("morgen 9:00", lang="nl", tz="America/New_York", now=NOW).when
    assert got.astimezone(ZoneInfo("America/New_York")).hour == 9


@pytest.mark.parametrize("raw,expected", [
    ("10min", timedelta(minutes=10)), ("10m", timedelta(minutes=10)), ("2h", timedelta(hours=2)),
    ("1h30m", timedelta(minutes=90)), ("3d", timedelta(days=3)), ("2w", timedelta(weeks=2)),
    ("3mnd", timedelta(days=90)), ("6 months", timedelta(days=180)), ("1y", timedelta(days=365)),
    ("1j", timedelta(days=365)), ("10 minuten", timedelta(minutes=10)), ("PT15M", timedelta(minutes=15)),
    ("PT60S", timedelta(seconds=60)), ("2 maanden", timedelta(days=60)), ("90s", timedelta(seconds=90)),
])
def test_durations(raw, expected):
    assert parse_duration(raw) == expected


def test_ambiguous_m_asks_for_windows():
    with pytest.raises(TimeParseError) as err:
        parse_duration("6m", m_means="ask")
    assert err.value.params == {"value": "6m", "minutes": "6min", "months": "6mnd"}
    assert parse_duration("6mnd", m_means="ask") == timedelta(days=180)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        got = parse_when(text, lang="nl", tz="Europe/Amsterdam", now=NOW)
    except TimeParseError as exc:
        assert exc.message
    else:
        assert got.when > NOW and got.when.tzinfo is not None
    try:
        parse_duration(text)
    except TimeParseError:
        pass
