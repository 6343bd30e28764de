"""Well-known XSS payloads (tests/data/xss/payloads.txt, sources named there) through every
command that shows user text back, to the user or to someone else: shared items and their
summaries, knowledge search, digests, session titles and details, cancellation reasons,
poll titles, review comments and the presenter's report (message and Markdown file),
actions, reminders (when set and when they fire), lab requests and answers, and funding
corrections. Everything the bot would send (the outbox, DMs included) is parsed as HTML:
no tag, attribute or URL outside the Matrix subset may survive. Each test also checks the
payloads reached the messages as text, so it cannot pass by dropping them."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.framework.render import message_content
from bot.scheduler import Scheduler
from storage.models.core import OutboxMessage, ScheduledJob
from support.chat import Chat, Clock, make_services
from support.html_safety import html_problems, markdown_file_problems, outgoing_problems

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
FACIL, ALICE, BOB, CAROL = "@facil:test", "@alice:test", "@bob:test", "@carol:test"
ROOM = "!xss:test"


def load_payloads() -> list[str]:
    lines = (Path(__file__).parents[1] / "data" / "xss" / "payloads.txt").read_text(encoding="utf-8").splitlines()
    while lines and lines[0].startswith("# "):  # the header names the sources
        lines.pop(0)
    return [line for line in lines if line.strip()]


PAYLOADS = load_payloads()


def quoted(text: str) -> str:
    """One argument however many quotes and spaces it holds (“…” never occurs in the corpus)."""
    assert "”" not in text
    return f"“{text}”"


def _norm(text: str) -> str:
    # Compare what a reader sees: whitespace and quote characters may be reflowed or taken by the tokenizer.
    return re.sub(r"[\s\"'“”‘’]+", "", text)


class Run:
    """A bot with every capability; collects what each command returned and, at the end,
    checks everything in the outbox (replies, DMs, room posts, files)."""

    def __init__(self, services):
        self.services = services
        self.chat = Chat(services)
        self.out = []

    async def send(self, text: str, sender: str = ALICE, **kw):
        kw.setdefault("room", ROOM)
        out = await self.chat.send(text, sender=sender, **kw)
        self.out += out
        return out

    async def outbox(self) -> list[OutboxMessage]:
        async with self.services.db.session() as s:
            return list((await s.scalars(select(OutboxMessage))).all())

    async def check(self, payloads: list[str], *, min_echoed: float = 0.9) -> None:
        problems = outgoing_problems(self.out)
        rows = await self.outbox()
        for row in rows:
            for key in ("formatted_body",):
                if key in row.content:
                    problems += [f"{p} in outbox row {row.id} ({row.origin})" for p in html_problems(row.content[key])]
            mimetype = (row.content.get("info") or {}).get("mimetype")
            if row.attachment and mimetype == "text/markdown":
                problems += [f"{p} in file of outbox row {row.id}"
                             for p in markdown_file_problems(row.attachment.decode("utf-8", "replace"))]
        assert not problems, "\n".join(problems[:20])
        # The payloads were shown (as text), so the check above had something to judge.
        seen = _norm(" ".join(r.content.get("body", "") for r in rows) + " ".join(
            message_content(o.markdown)["body"] for o in self.out))
        missing = [p for p in payloads if _norm(p) not in seen]
        assert len(missing) <= (1 - min_echoed) * len(payloads), (len(missing), missing[:10])


@pytest.fixture
async def run(tmp_path):
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6,
                                   facilitators=(FACIL,))
    services.clock = Clock(NOW)
    services.timers = Scheduler(services, lambda: None)  # timers never started: the tests run jobs
    yield Run(services)
    await services.timers.shutdown()
    await services.db.dispose()


async def _run_due_jobs(run: Run, kind: str) -> int:
    async with run.services.db.session() as s:
        jobs = list((await s.scalars(select(ScheduledJob).where(ScheduledJob.kind == kind,
                                                                ScheduledJob.status == "pending"))).all())
    for job in jobs:
        run.services.clock.now = max(run.services.clock.now, job.run_at.replace(tzinfo=timezone.utc))
        await run.services.timers.run(job.id)
    return len(jobs)


def test_the_corpus_is_large_and_varied():
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    for family in ("<script", "onerror", "javascript:", "<svg", "<style", "](javascript", "&#"):
        assert any(family.lower() in p.lower() for p in PAYLOADS), family


async def test_shared_items_search_and_digest(run):
    await run.send("!subscribe climate adaptation weekly")
    for n, payload in enumerate(PAYLOADS):
        await run.send(f"!share https://example.org/item-{n} {quoted(payload)} #klimaatadaptatie {payload}")
        if n % 8 == 0:
            await run.send("!digest preview")
    for payload in PAYLOADS[:40]:
        await run.send(f"!knowledge {payload}")
    await run.send("!knowledge")
    # The digest itself, as the job sends it.
    run.services.clock.now = NOW + timedelta(days=8)
    assert await _run_due_jobs(run, "digest-run") == 1
    await run.check(PAYLOADS)


async def test_session_texts_and_cancellation_reasons(run):
    for n, payload in enumerate(PAYLOADS, start=1):
        q = quoted(payload)
        await run.send(f"!session new {q} 2026-12-0{1 + n % 8} 14:00 --project {q} --question {q} --where {q}",
                       sender=FACIL)
        await run.send(f"!session join {n}", sender=BOB)
        await run.send(f"!session {n}")
        if n % 2:
            await run.send(f"!session cancel {n} {payload}", sender=FACIL)  # every participant is told why
    await run.send("!sessions --all")
    await run.check(PAYLOADS)


async def test_poll_titles(run):
    for n, payload in enumerate(PAYLOADS, start=1):
        await run.send(f"!session poll {quoted(payload)} 2026-12-01 14:00 | 2026-12-02 10:00", sender=FACIL)
        await run.send(f"!session poll {n}", sender=FACIL)
    await run.check(PAYLOADS)


async def test_review_comments_actions_and_the_report(run):
    fields = ["strengths", "concerns", "recommendations", "impact 4"]
    chunks = [PAYLOADS[i:i + 2 * len(fields)] for i in range(0, len(PAYLOADS), 2 * len(fields))]
    for chunk in chunks:
        planned = await run.send(f"!session new {quoted(chunk[0][:200])} 2026-12-01 14:00", sender=FACIL)
        number = re.search(r"(?:Planned session|sessie) (\d+)", planned[0].markdown)
        assert number, planned[0].markdown
        n = int(number.group(1))
        await run.send(f"!session assign {n} {CAROL} presenter", sender=FACIL)
        for reviewer in (ALICE, BOB):
            await run.send(f"!session assign {n} {reviewer} reviewer", sender=FACIL)
        for i, payload in enumerate(chunk):
            reviewer, field = (ALICE, BOB)[i % 2], fields[i // 2 % len(fields)]
            await run.send(f"!review {n} {field} {quoted(payload)}", sender=reviewer)
            await run.send(f"!session action {n} {quoted(payload)} {BOB} 2026-12-20", sender=FACIL)
        await run.send(f"!review {n} show", sender=ALICE)
        await run.send(f"!review {n} submit", sender=ALICE)
        out = await run.send(f"!review {n} submit --named", sender=BOB)
        assert any(o.to_user == CAROL and o.attachment and o.attachment.mimetype == "text/markdown" for o in out), \
            [o.markdown[:80] for o in out]
        await run.send(f"!session actions {n}")
    await run.check(PAYLOADS)


async def test_reminders_when_set_listed_and_fired(run):
    users = [f"@user{n}:test" for n in range(10)]  # a user may keep 25 reminders
    for n, payload in enumerate(PAYLOADS):
        await run.send(f"!remindme 1h {payload}", sender=users[n % len(users)])
    for user in users:
        await run.send("!reminders", sender=user)
        await run.send("!mydata", sender=user)                      # what the bot holds about you
        await run.send(f"!admin user {user}", sender="@admin:test")  # and what an admin sees
    assert await _run_due_jobs(run, "reminder") == len(PAYLOADS)
    await run.check(PAYLOADS)


async def test_admin_announcements_keep_markdown_but_never_html(run):
    """The one place where user text is Markdown on purpose: only the renderer stands in the way."""
    for payload in PAYLOADS:
        await run.send(f"!admin announce here {payload}", sender="@admin:test")
    await run.check(PAYLOADS, min_echoed=0.75)  # Markdown (links, emphasis, entities) is rendered, not echoed


async def test_lab_requests_and_answers_to_the_requester(run):
    for n, payload in enumerate(PAYLOADS, start=1):
        await run.send(f"!lab request the-green-village {payload}", sender=ALICE)
        verb = "accept" if n % 2 else "decline"
        await run.send(f"!request {verb} {n} {payload}", sender=FACIL)
    await run.send("!requests", sender=ALICE)
    await run.check(PAYLOADS)


async def test_funding_corrections(run):
    for payload in PAYLOADS:
        await run.send(f"!funding set horizon-mission-cities-2026 summary {payload}", sender=FACIL)
        await run.send("!funding horizon-mission-cities-2026")
    await run.check(PAYLOADS)
