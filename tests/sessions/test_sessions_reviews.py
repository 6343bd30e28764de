"""Reviews, the report and format rounds through the real dispatcher and scheduler (no
Matrix): who may review, scores and statistics, anonymity, the guided dialogue, the
report sent once (and reviews frozen after), the chart, actions, rounds re-planned on a
move, and review text that never injects markup."""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bot.framework.i18n import Translator
from bot.framework.render import message_content
from bot.scheduler import Scheduler
from commands.sessions.criteria import match_criterion, match_text_field
from commands.sessions.report import CriterionStats, render_chart
from storage.models.core import ScheduledJob
from storage.sessions.models import Review, ReviewSession, SessionAction
from support.chat import Clock, Chat, make_services
from support.html_safety import html_problems, internal_errors

FACIL, PRES, REV1, REV2, OTHER = "@facil:test", "@pres:test", "@rev1:test", "@rev2:test", "@mallory:test"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
CRITERIA = ["impact", "feasibility", "scalability", "interoperability", "public_values"]


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "funding", "sessions", "reminders"],
                                   rate_limit_count=10**6, language="en")
    services.clock = Clock(NOW)
    services.settings.sessions.reminders = [timedelta(hours=1)]
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    yield services, Chat(services)
    await sched.shutdown()
    await services.db.dispose()


async def _session(chat, reviewers=(REV1, REV2), when="2026-12-01 14:00"):
    await chat.send(f'!session new "Groene daken Zwolle" {when} --project "Green roofs"', sender=FACIL)
    await chat.send(f"!session assign 1 {PRES} presenter", sender=FACIL)
    for r in reviewers:
        await chat.send(f"!session assign 1 {r} reviewer", sender=FACIL)
        await chat.send("!lang en", sender=r)  # they type Dutch criterion names but read English


def _dm(out, user):
    return [o for o in out if o.to_user == user]


async def _jobs(services, kind=None):
    async with services.db.session() as s:
        q = select(ScheduledJob).where(ScheduledJob.group_key == "session:1")
        if kind:
            q = q.where(ScheduledJob.kind == kind)
        return list((await s.scalars(q.order_by(ScheduledJob.run_at))).all())


async def _run_now(services, job_id):
    """Run a job as if its time had come: the scheduler compares run_at with services.clock.
    (This used to set run_at to the wall clock's now, which passed only while the real time
    was before the test clock's NOW: on 25 November 2026 until 09:00 UTC.)"""
    async with services.db.transaction() as s:
        (await s.get(ScheduledJob, job_id)).run_at = services.clock() - timedelta(seconds=5)
    await services.timers.run(job_id)


# ----------------------------------------------------------------------------- pure parts
def test_statistics_mean_sd_range():
    st_ = CriterionStats("impact", [3, 4, 5, 4])
    assert st_.mean == pytest.approx(4.0) and st_.sd == pytest.approx(statistics.stdev([3, 4, 5, 4]))
    assert (st_.low, st_.high, st_.n) == (3, 5, 4)
    assert CriterionStats("x", [2]).sd == 0.0 and CriterionStats("x").mean is None


@pytest.mark.parametrize("words,key", [("impact", "impact"), ("Haalbaarheid", "feasibility"),
                                        ("feasability", "feasibility"), ("publieke waarden", "public_values"),
                                        ("public_values", "public_values"), ("herbruikbaarheid", "scalability"),
                                        ("interoperabiliteit", "interoperability"), ("schaalbaarhied", "scalability")])
def test_criteria_names_in_both_languages_and_misspelled(words, key):
    assert match_criterion(words, CRITERIA) == key


def test_unknown_words_match_no_criterion_and_text_fields_in_dutch():
    assert match_criterion("banana", CRITERIA) is None
    assert match_text_field("sterke-punten") == "strengths" and match_text_field("zorgen") == "concerns"
    assert match_text_field("aanbevelingen") == "recommendations"


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_chart_is_a_png_with_the_scores(lang):
    s = ReviewSession(id=3, title="Groene daken", starts_at=NOW, ends_at=NOW)
    stats = [CriterionStats("impact", [4, 5]), CriterionStats("feasibility", [2]), CriterionStats("public_values")]
    png = render_chart(Translator(lang), s, stats)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    from PIL import Image
    img = Image.open(BytesIO(png))
    desc = img.info["Description"]
    assert ("Impact: 4.5" in desc) if lang == "en" else ("Haalbaarheid: 2,0" in desc)


# ----------------------------------------------------------------------------- permission
async def test_only_reviewers_may_review(env):
    services, chat = env
    await _session(chat)
    for who in (OTHER, PRES, FACIL):
        reply = await chat.text("!review 1 impact 4 good", sender=who)
        assert "🔒" in reply and "Only the reviewers of session 1" in reply, reply
    async with services.db.session() as s:
        assert (await s.scalars(select(Review))).all() == []
    dutch = await chat.text("!beoordeel 1 impact 4", sender=OTHER)
    assert "Alleen de beoordelaars van sessie 1" in dutch


async def test_scores_texts_show_and_bad_input(env):
    services, chat = env
    await _session(chat)
    assert "Saved: Impact 4 — “clear goals”" in await chat.text('!review 1 impact 4 "clear goals"', sender=REV1)
    assert "Feasibility 3" in await chat.text("!review 1 haalbaarheid 3", sender=REV1)
    assert "Saved: Strengths" in await chat.text('!review 1 sterke-punten "sterk team"', sender=REV1)
    assert "from 1 to 5" in await chat.text("!review 1 impact 7", sender=REV1)
    assert "score from 1 to 5" in await chat.text("!review 1 impact", sender=REV1)
    assert "I don't know" in await chat.text("!review 1 banana 3", sender=REV1)
    shown = await chat.text("!review 1 show", sender=REV1)
    assert "draft" in shown and "Impact: 4 — “clear goals”" in shown and "sterk team" in shown
    # A score without a comment keeps the earlier comment.
    await chat.text("!review 1 impact 5", sender=REV1)
    async with services.db.session() as s:
        r = await s.get(Review, (1, REV1))
        assert r.scores["impact"] == {"score": 5, "comment": "clear goals"} and r.submitted_at is None


# ----------------------------------------------------------------------------- report
async def test_report_when_all_submitted_anonymous_unless_named_then_frozen(env):
    services, chat = env
    await _session(chat)
    await chat.text('!review 1 impact 4 "fine plan"', sender=REV1)
    await chat.text('!review 1 concerns "budget <b>tight</b>"', sender=REV1)
    assert "submitted (anonymously)" in await chat.text("!review 1 submit", sender=REV1)
    await chat.text("!review 1 impact 2", sender=REV2)
    await chat.text('!review 1 recommendations "talk to *Rotterdam*"', sender=REV2)
    out = await chat.send("!review 1 submit --named", sender=REV2)
    assert "report has gone to the presenter" in "\n".join(o.markdown for o in out)
    to_pres = _dm(out, PRES)
    assert [o.attachment.mimetype for o in to_pres] == ["text/markdown", "image/png"]
    assert to_pres[1].attachment.msgtype == "m.image" and to_pres[1].attachment.data[:4] == b"\x89PNG"
    report = to_pres[0].markdown
    assert "Impact: 3.0** · sd 1.4 · 2–4 · n = 2" in report
    assert "“fine plan”" in report and REV1 not in report  # anonymous
    assert REV2 in report  # named
    # User text is escaped: no HTML, no emphasis from the reviewer's asterisks.
    html = message_content(report)["formatted_body"]
    assert "<b>tight" not in html and "<em>Rotterdam" not in html
    md_file = to_pres[0].attachment.data.decode()
    assert "Impact: 3.0" in md_file and to_pres[0].attachment.filename == "session-1-report.md"
    assert _dm(out, FACIL) and "Copy of the report" in _dm(out, FACIL)[0].markdown
    assert not _dm(out, REV2) and not _dm(out, REV1)
    async with services.db.session() as s:
        assert (await s.get(ReviewSession, 1)).report_sent_at is not None
    # Frozen afterwards; the report is not sent twice.
    assert "can no longer be changed" in await chat.text("!review 1 impact 5", sender=REV1)
    assert "already sent" in await chat.text("!session report 1", sender=FACIL)
    assert [j.status for j in await _jobs(services, "session-report")] == ["cancelled"]


async def test_manual_report_needs_facilitator_reviews_and_presenter(env):
    services, chat = env
    await _session(chat)
    assert "🔒" in await chat.text("!session report 1", sender=OTHER)
    assert "No reviewer has submitted" in await chat.text("!session report 1", sender=FACIL)
    await chat.text("!review 1 impact 4", sender=REV1)
    await chat.text("!review 1 submit", sender=REV1)
    out = await chat.send("!session report 1", sender=FACIL)
    assert _dm(out, PRES) and "was sent to" in out[-1].markdown
    assert "n = 1" in _dm(out, PRES)[0].markdown


async def test_report_job_after_the_session_runs_once_or_skips(env):
    services, chat = env
    services.settings.sessions.report_after = timedelta(hours=2)
    await _session(chat)
    [job] = await _jobs(services, "session-report")
    assert job.run_at == datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc)  # 14:00 CET + 90 min + 2 h
    await _run_now(services, job.id)  # no reviews yet: skipped with the reason
    [job] = await _jobs(services, "session-report")
    assert job.status == "skipped" and "No reviewer" in job.note
    # Moving the session re-plans the report job too.
    await chat.send("!session move 1 2026-12-02 14:00", sender=FACIL)
    [job] = await _jobs(services, "session-report")
    assert job.status == "pending" and job.run_at == datetime(2026, 12, 2, 16, 30, tzinfo=timezone.utc)
    await chat.text("!review 1 impact 4", sender=REV1)
    await chat.text("!review 1 submit", sender=REV1)  # REV2 has not submitted: no report yet
    await _run_now(services, job.id)
    [job] = await _jobs(services, "session-report")
    assert job.status == "done"
    async with services.db.session() as s:
        assert (await s.get(ReviewSession, 1)).report_sent_at is not None


# ----------------------------------------------------------------------------- the dialogue
async def test_guided_dialogue_in_a_direct_message(env):
    services, chat = env
    services.settings.sessions.criteria = ["impact", "feasibility"]
    await _session(chat, reviewers=(REV1,))
    out = await chat.send("!review 1", sender=REV1)  # in the room: the questions go by DM
    assert "sent you a direct message" in out[0].markdown or "sent you a direct message" in out[-1].markdown
    assert "**Impact** (1/2)" in _dm(out, REV1)[0].markdown
    dm = "!dm-rev1:test"
    # "subsidie" would be a funding question: the waiting dialogue answers first.
    assert "**Feasibility** (2/2)" in await chat.text("4 goed plan, maar subsidie nodig", sender=REV1, room=dm, direct=True)
    assert "score from 1 to 5" in await chat.text("super", sender=REV1, room=dm, direct=True)
    assert "**Strengths**" in await chat.text("skip", sender=REV1, room=dm, direct=True)
    assert "**Concerns**" in await chat.text("Sterk <script>team</script>", sender=REV1, room=dm, direct=True)
    assert "Paused" in await chat.text("stop", sender=REV1, room=dm, direct=True)
    # Not waiting: plain text is an ordinary question again.
    assert "Concerns" not in await chat.text("hallo", sender=REV1, room=dm, direct=True)
    resumed = await chat.text("!review 1", sender=REV1, room=dm, direct=True)
    assert "**Feasibility** (2/2)" in resumed  # resumes at the first open question
    assert "(now: “Sterk" in await chat.text("3", sender=REV1, room=dm, direct=True)  # strengths again
    await chat.text("overslaan", sender=REV1, room=dm, direct=True)  # keeps the strengths
    await chat.text("overslaan", sender=REV1, room=dm, direct=True)  # concerns
    confirm = await chat.text("werk samen met Deventer", sender=REV1, room=dm, direct=True)
    assert "Submit your review?" in confirm and "Impact: 4 — “goed plan, maar subsidie nodig”" in confirm
    assert "&lt;script&gt;" in message_content(confirm)["formatted_body"]
    out = await chat.send("ja, met naam", sender=REV1, room=dm, direct=True)
    text = "\n".join(o.markdown for o in out)
    assert "with your name" in text and "report has gone to the presenter" in text
    assert _dm(out, PRES)
    async with services.db.session() as s:
        r = await s.get(Review, (1, REV1))
        assert r.named and r.step is None and r.scores["feasibility"]["score"] == 3 and r.concerns is None
        assert r.recommendations == "werk samen met Deventer" and r.strengths == "Sterk <script>team</script>"
    # After the report the dialogue cannot be reopened.
    assert "can no longer be changed" in await chat.text("!review 1", sender=REV1, room=dm, direct=True)


# ----------------------------------------------------------------------------- actions
async def test_action_stored_owner_told_and_reminded_once(env):
    services, chat = env
    services.settings.sessions.action_reminder = timedelta(days=2)
    await _session(chat)
    assert "🔒" in await chat.text('!session action 1 "Begroting" @bob:test 2026-12-20', sender=OTHER)
    out = await chat.send('!session action 1 "Begroting **herzien**" @bob:test 2026-12-20 10:00', sender=FACIL)
    assert "Action 1 for" in out[0].markdown and "I will remind them" in out[0].markdown
    assert "Begroting \\*\\*herzien" in _dm(out, "@bob:test")[0].markdown
    async with services.db.session() as s:
        [job] = (await s.scalars(select(ScheduledJob).where(ScheduledJob.kind == "session-action-reminder"))).all()
        assert job.run_at == datetime(2026, 12, 18, 9, 0, tzinfo=timezone.utc) and job.id == "session-action:1:remind"
        assert len((await s.scalars(select(SessionAction))).all()) == 1
    # Re-planning the session (a move) leaves the action reminder alone.
    await chat.send("!session move 1 2026-12-03 14:00", sender=FACIL)
    async with services.db.session() as s:
        assert (await s.get(ScheduledJob, "session-action:1:remind")).status == "pending"
    await _run_now(services, "session-action:1:remind")
    await services.timers.run("session-action:1:remind")
    from storage.models.core import OutboxMessage
    async with services.db.session() as s:
        rows = [r for r in (await s.scalars(select(OutboxMessage))).all()
                if r.to_user == "@bob:test" and "Reminder: your action" in r.content.get("body", "")]
    assert len(rows) == 1
    listed = await chat.text("!sessie acties 1", sender=OTHER)
    assert "Acties uit #1" in listed and "Begroting \\*\\*herzien" in listed


# ----------------------------------------------------------------------------- formats
async def test_format_rounds_planned_posted_and_replanned_on_move(env):
    services, chat = env
    await _session(chat)
    assert "🔒" in await chat.text("!session format 1 intervisie", sender=OTHER)
    reply = await chat.text("!session format 1 intervisie", sender=FACIL)
    assert "Case" in reply and "Evaluation" in reply and "14:50 **Evaluation**" in reply
    rounds = await _jobs(services, "session-round")
    start = datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)
    assert [j.run_at - start for j in rounds] == [timedelta(minutes=m) for m in (0, 10, 15, 30, 40, 50)]
    shown = await chat.text("!session format 1", sender=OTHER)  # anyone may look
    assert "Questions" in shown and "15 min" in shown
    await chat.send("!session move 1 2026-12-08 10:00", sender=FACIL)
    pending = [j for j in await _jobs(services, "session-round") if j.status == "pending"]
    new_start = datetime(2026, 12, 8, 9, 0, tzinfo=timezone.utc)
    assert [j.run_at - new_start for j in pending] == [timedelta(minutes=m) for m in (0, 10, 15, 30, 40, 50)]
    # Switching format replaces the rounds.
    reply = await chat.text("!sessie werkvorm 1 peer-review", sender=FACIL)
    assert "Presentatie" in reply and "Scoren" in reply
    pending = [j for j in await _jobs(services, "session-round") if j.status == "pending"]
    assert len(pending) == 5 and all(j.payload["format"] == "peer-review" for j in pending)
    # A round posts in the session's room, in the session's language, as it starts.
    services.clock.now = new_start + timedelta(minutes=35)
    third = pending[2]
    await _run_now(services, third.id)
    from storage.models.core import OutboxMessage
    async with services.db.session() as s:
        rows = [r for r in (await s.scalars(select(OutboxMessage))).all() if r.origin.startswith("job session-round")]
    assert len(rows) == 1 and rows[0].room_id == "!room:test"
    assert "Round 3 of 5: Scoring" in rows[0].content["body"] and "!review 1 impact 4" in rows[0].content["body"]
    # A round that is over by the time the job runs is skipped.
    services.clock.now = new_start + timedelta(minutes=70)
    await _run_now(services, pending[0].id)
    async with services.db.session() as s:
        assert (await s.get(ScheduledJob, pending[0].id)).status == "skipped"


# ----------------------------------------------------------------------------- no injection
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120))
async def test_review_text_never_injects(env, text):
    services, chat = env
    async with services.db.session() as s:
        if await s.get(ReviewSession, 1) is None:
            await _session(chat, reviewers=(REV1,))
    probe = text.replace('"', "'").replace("--", "—") + " <img src=x onerror=alert(1)> **x** [a](javascript:x)"
    for body in (f'!review 1 impact 3 "{probe}"', f'!review 1 concerns "{probe}"', "!review 1 show"):
        for o in await chat.send(body, sender=REV1):
            html = message_content(o.markdown)["formatted_body"] if o.markdown else ""
            assert "<img" not in html and 'href="javascript' not in html and "<strong>x" not in html, html


@settings(max_examples=25, deadline=None)
@given(title=st.text(min_size=1, max_size=80))
def test_chart_renders_any_title(title):
    s = ReviewSession(id=1, title=title + " $\\frac{ $x^", starts_at=NOW, ends_at=NOW)
    assert render_chart(Translator("nl"), s, [CriterionStats("impact", [1, 5])])[:4] == b"\x89PNG"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60), min_size=1,
                        max_size=6))
async def test_dialogue_answers_never_crash_or_inject(env, answers):
    services, chat = env
    async with services.db.session() as s:
        if await s.get(ReviewSession, 1) is None:
            await _session(chat, reviewers=(REV1,))
    await chat.send("!review 1", sender=REV1, room="!dm:test", direct=True)
    for answer in answers:
        for o in await chat.send(answer + " <img src=x>", sender=REV1, room="!dm:test", direct=True):
            html = message_content(o.markdown)["formatted_body"] if o.markdown else ""
            assert "<img" not in html and not html_problems(html), html
    assert internal_errors(services) == 0, answers  # any language


async def test_an_answer_starting_with_a_command_word_is_still_an_answer(env):
    services, chat = env
    services.settings.sessions.criteria = ["impact"]
    await _session(chat, reviewers=(REV1,))
    dm = "!dm-rev1:test"
    await chat.send("!review 1", sender=REV1, room=dm, direct=True)
    assert "**Strengths**" in await chat.text("4", sender=REV1, room=dm, direct=True)
    # "lab" and "funding" are command words, but a review question is waiting.
    assert "**Concerns**" in await chat.text("lab access is great", sender=REV1, room=dm, direct=True)
    assert "**Recommendations**" in await chat.text("funding is not secured", sender=REV1, room=dm, direct=True)
    async with services.db.session() as s:
        r = await s.get(Review, (1, REV1))
        assert (r.strengths, r.concerns) == ("lab access is great", "funding is not secured")
    # With the prefix a command is a command, also during the dialogue.
    assert "Pong" in await chat.text("!ping", sender=REV1, room=dm, direct=True)
    # Without a waiting question, command words are commands again.
    await chat.text("stop", sender=REV1, room=dm, direct=True)
    assert "Pong" in await chat.text("ping", sender=REV1, room=dm, direct=True)


async def test_the_flood_guard_never_throttles_a_dialogue_the_bot_started(env):
    """Issue 19: with answers typed seconds apart the 10th message in a minute was refused and
    the next answers were lost. Answers to the waiting question are not commands: a guard of
    3 commands a minute lets a whole review through, and counts none of its answers."""
    services, _ = env
    services.settings.sessions.criteria = ["impact", "feasibility", "scalability", "interoperability"]
    services.settings.bot.rate_limit_count = 3
    chat = Chat(services)  # a dispatcher built with the tight guard
    await _session(chat, reviewers=(REV1,))
    dm = "!dm-rev1:test"
    await chat.send("!review 1", sender=REV1, room=dm, direct=True)
    for answer in ["4 sterk", "3", "5 schaalbaar", "2", "Sterk team", "Geen budget", "Begin klein"]:
        out = await chat.text(answer, sender=REV1, room=dm, direct=True)
        assert "quickly" not in out and "Not handled" not in out, (answer, out)
    assert "Submit your review?" in out and "Geen budget" in out
    async with services.db.session() as s:
        r = await s.get(Review, (1, REV1))
        assert (r.concerns, r.recommendations) == ("Geen budget", "Begin klein")
        assert [r.scores[k]["score"] for k in services.settings.sessions.criteria] == [4, 3, 5, 2]
    # The answers did not use up the person's commands either; the fourth command is refused,
    # and the refusal quotes what was not handled.
    assert "Pong" in await chat.text("!ping", sender=REV1, room=dm, direct=True)  # not limited
    for i in range(2):
        assert "quickly" not in await chat.text(f"!review 1 show", sender=REV1, room=dm, direct=True)
    refused = await chat.text("!review 1 impact 5", sender=REV1, room=dm, direct=True)
    assert "did not handle" in refused and "review 1 impact 5" in refused


# ----------------------------------------------------------------------------- the report's Markdown file
def _file_reader_text(markdown: str) -> str:
    """What a Markdown-file viewer shows: CommonMark with raw HTML on (as most viewers have
    it) and strikethrough, reduced to its text."""
    import html as _html
    import re as _re

    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": True}).enable("strikethrough").enable("table").render(markdown)
    assert _re.fullmatch(r"\s*<ul>\s*<li>.*</li>\s*</ul>\s*", rendered, _re.S), rendered
    return _html.unescape(_re.sub(r"</?(ul|li)>", "", rendered)).strip()


def test_the_report_file_escapes_for_file_readers_not_chat():
    from commands.sessions.report import file_escape
    assert file_escape("<b>fair</b>") == "\\<b>fair\\</b>"
    assert file_escape("@maria:gemeente-ede.nl") == "@maria:gemeente-ede.nl"
    assert file_escape("Prima plan. Kosten: 1.000-2.000 euro!") == "Prima plan. Kosten: 1.000-2.000 euro!"
    assert file_escape("# kop") == "\\# kop" and file_escape("12. punt") == "12\\. punt"


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_a_review_text_reads_as_written_in_the_report_file(text):
    from commands.sessions.report import file_escape
    expected = " ".join(text.split())
    assert _file_reader_text("- " + file_escape(text)) == expected
