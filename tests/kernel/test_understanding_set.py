"""The understanding set of issue 19 (tests/data/understanding/set.yaml), written and committed
before anyone changed the parser: 120 messages, half Dutch, half English, each with the
capability it must reach, what must be stored afterwards, key arguments, checks on the
funding records shown, and the language of the answer.

Each message goes through the real dispatcher as `dsih-bot console` sends it (a direct chat,
the person an admin, every capability loaded, the bundled data, a scheduler), from its own
person in its own room. Which capability answered is observed without touching production
code: for the duration of the test every command callback and every question handler of
the registry is wrapped (monkeypatch) to record its capability (cog), command name, keyword
arguments, whether it completed, and the language of the context it answered in.

A case is judged on four things, each reported separately:
- capability: the top-level handler that answered (command callback that ran to the end, or a
  question handler that returned True) belongs to the expected capability (and is one of the
  expected commands, if listed); where the case allows `confirm`, a reply that proposes a
  `!command` of that capability also counts, and the proposed command is then run;
- effect/args/results: what was stored for the person (reminder, session, poll, subscription,
  shared item), the command's keyword arguments, the funding records listed;
- reply language: the language the answering handler's context used (when no handler
  answered, e.g. "I did not understand" or an argument error, a count of common Dutch and
  English words in the reply decides);
- all: everything at once. The floor asserted is the baseline measured when the set was
  committed (a regression floor, not the goal: issue 19 wants every class understood)."""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from bot.scheduler import Scheduler
from storage.models.core import ScheduledJob
from storage.digests.models import DigestSubscription
from storage.funding.models import FundingInstrument
from storage.knowledge.models import KnowledgeItem
from storage.sessions.models import ReviewSession, SessionPoll
from support.chat import Chat, Clock, make_services
from support.funding_env import result_ids

SET = Path(__file__).resolve().parents[1] / "data" / "understanding" / "set.yaml"
DATA = yaml.safe_load(SET.read_text(encoding="utf-8"))
CASES = DATA["cases"]
AMS = ZoneInfo(DATA["timezone"])
NOW = datetime.strptime(DATA["clock"], "%Y-%m-%d %H:%M").replace(tzinfo=AMS).astimezone(timezone.utc)

# Measured at the commit that added this harness (before any change for issue 19); see the
# commit "record the baseline". Floors, not goals.
BASELINE_ALL = 37          # 37/120 fully understood (nl 18/60, en 19/60) at 1f54ef4, before any parser change
BASELINE_ALL = 113         # after intents, clock words, amounts, years and shared words (h2/lang): nl 55/60, en 58/60
BASELINE_CAPABILITY = 61   # 61/120 reached the right capability (nl 30/60, en 31/60)
BASELINE_CAPABILITY = 116  # after the same (h2/lang)
BASELINE_ALL = 120         # after one topic converter, glued radii and owner adjectives (h3/understand3): nl 60/60, en 60/60
BASELINE_CAPABILITY = 120


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=AMS)


def as_local(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:   # stored naive = UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(AMS)


def test_set_shape():
    assert len(CASES) == 120
    assert sum(c["lang"] == "nl" for c in CASES) == 60 == sum(c["lang"] == "en" for c in CASES)
    assert len({c["id"] for c in CASES}) == 120
    classes = {c["class"] for c in CASES}
    assert {"sessions", "reminders", "subscriptions", "planning", "poll", "sharing", "labs", "privacy",
            "funding-amount", "funding-year", "reply-language"} <= classes


# --------------------------------------------------------------------------- observation
class Observer:
    """Records which handler answered: wraps every command callback and question handler."""

    def __init__(self):
        self.events: list[dict] = []
        self.depth = 0

    def _record(self, kind, capability, name, kwargs):
        ev = {"kind": kind, "capability": capability, "name": name, "kwargs": kwargs, "depth": self.depth,
              "done": False, "answered": False, "lang": None}
        self.events.append(ev)
        return ev

    def install(self, monkeypatch, registry):
        seen = set()

        def commands(cmds):
            for c in cmds:
                if id(c) not in seen:
                    seen.add(id(c))
                    yield c
                    yield from commands(c.subcommands.values())

        for cmd in commands(registry.commands):
            monkeypatch.setattr(cmd, "callback", self._wrap_command(cmd, cmd.callback))
        for cog in registry.cogs:   # a new list per cog; monkeypatch puts the original back
            monkeypatch.setattr(cog, "questions", [self._wrap_question(cog.name, h) for h in cog.questions])

    def _wrap_command(self, cmd, fn):
        observer = self

        @functools.wraps(fn)
        async def wrapped(ctx, *args, **kwargs):
            ev = observer._record("command", cmd.cog.name, cmd.qualified_name, dict(kwargs))
            observer.depth += 1
            try:
                result = await fn(ctx, *args, **kwargs)
            finally:
                observer.depth -= 1
                ev["lang"] = ctx.lang
            ev["done"] = ev["answered"] = True
            return result
        return wrapped

    def _wrap_question(self, cog_name, fn):
        observer = self

        @functools.wraps(fn)
        async def wrapped(ctx, text, *args, **kwargs):
            ev = observer._record("question", cog_name, fn.__name__, {})
            observer.depth += 1
            try:
                answered = await fn(ctx, text, *args, **kwargs)
            finally:
                observer.depth -= 1
                ev["lang"] = ctx.lang
            ev["done"] = True
            ev["answered"] = bool(answered)
            return answered
        return wrapped

    def answer(self, start: int) -> dict | None:
        """The top-level handler that answered among the events since `start`."""
        top = [e for e in self.events[start:] if e["depth"] == 0 and e["answered"]]
        return top[-1] if top else None


# --------------------------------------------------------------------------- judging
_DUTCH = set("de het een en van voor zijn er je jij ik niet wat welke wanneer met op ook dat dit is kan "
             "bij naar om nog geen subsidie-instrumenten gevonden begreep typ".split())
_ENGLISH = set("the a an and of for are there you i not what which when with on also that this is can "
               "at to no found understand type".split())


def text_language(text: str) -> str | None:
    words = re.findall(r"[a-zà-ÿ-]+", text.lower())
    nl, en = sum(w in _DUTCH for w in words), sum(w in _ENGLISH for w in words)
    return None if nl == en else ("nl" if nl > en else "en")


_PROPOSAL = re.compile(r"`(!{1}[^`\n]{2,400})`")


def proposals(text: str, registry, capabilities, commands) -> list[str]:
    """`!commands` in a reply that belong to the expected capability (and commands)."""
    out = []
    for raw in _PROPOSAL.findall(text.replace("\\", "")):
        words = raw[1:].split()
        cmd = registry.get(words[0]) if words else None
        if cmd is None:
            continue
        if cmd.subcommands and len(words) > 1 and words[1].lower() in cmd.subcommands:
            cmd = cmd.subcommands[words[1].lower()]
        if cmd.cog.name in capabilities and (not commands or cmd.qualified_name in commands):
            if "<" not in raw and "‹" not in raw and "…" not in raw:   # a template, not a command to run
                out.append(raw)
    return out


async def stored_effect(services, sender: str, kind: str):
    async with services.db.session() as s:
        if kind == "reminder":
            rows = (await s.scalars(select(ScheduledJob).where(
                ScheduledJob.kind == "reminder", ScheduledJob.owner == sender))).all()
            return [(as_local(r.run_at), (r.payload or {}).get("text", "")) for r in rows]
        if kind == "session":
            rows = (await s.scalars(select(ReviewSession).where(ReviewSession.facilitator == sender))).all()
            return [as_local(r.starts_at) for r in rows]
        if kind == "poll":
            rows = (await s.scalars(select(SessionPoll).where(SessionPoll.facilitator == sender))).all()
            return [sorted(as_local(x) for x in (r.slots or [])) for r in rows]
        if kind == "subscription":
            rows = (await s.scalars(select(DigestSubscription).where(DigestSubscription.subscriber == sender))).all()
            return [(set(r.topics or ()), r.frequency) for r in rows]
        if kind == "shared":
            rows = (await s.scalars(select(KnowledgeItem).where(KnowledgeItem.shared_by == sender))).all()
            return [(r.url, set(r.topics or ())) for r in rows]
    raise ValueError(kind)


def effect_ok(kind: str, want: dict, found: list) -> bool:
    if kind == "reminder":
        def good(when, text):
            if "when" in want and when != local(want["when"]):
                return False
            if "when_between" in want and not local(want["when_between"][0]) <= when <= local(want["when_between"][1]):
                return False
            return want.get("text_contains", "").lower() in (text or "").lower()
        return any(good(*f) for f in found)
    if kind == "session":
        return local(want["when"]) in found
    if kind == "poll":
        return sorted(local(x) for x in want["slots"]) in found
    if kind == "subscription":
        def good(topics, frequency):
            return (set(want.get("topics", ())) <= topics and
                    (not want.get("topics_any") or bool(set(want["topics_any"]) & topics)) and
                    (not want.get("frequency") or frequency == want["frequency"]))
        return any(good(*f) for f in found)
    if kind == "shared":
        return any(want["url_contains"].lower() in url.lower() and
                   (not want.get("topics_any") or bool(set(want["topics_any"]) & topics)) for url, topics in found)
    raise ValueError(kind)


def args_ok(want: dict, events: list[dict]) -> bool:
    for ev in events:
        if ev["kind"] == "command" and ev["done"]:
            if all(_same(ev["kwargs"].get(k, ev["kwargs"].get(k.replace("-", "_"))), v) for k, v in want.items()):
                return True
    return False


def _same(got, want) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        try:
            return float(got) == float(want)
        except (TypeError, ValueError):
            return False
    return str(got).strip().lower() == str(want).strip().lower()


_LINK = re.compile(r"\[([^\]]+)\]\(")


def funding_ids(text: str, rows: dict) -> list[str]:
    """Funding records an answer lists, in order: "· `id`" lines of a result list, and the
    title links of a topic overview (which shows titles, not ids)."""
    by_title = {}
    for r in rows.values():
        for title in (r.title, r.title_nl):
            if title:
                by_title[title.strip()] = r.id
    out = []
    for line in text.splitlines():
        found = [i for i in result_ids(line) if i in rows]
        found += [by_title[t] for t in (m.replace("\\", "") for m in _LINK.findall(line)) if t in by_title]
        out += [i for i in found if i not in out]
    return out


def results_ok(want: dict, text: str, rows: dict) -> bool:
    ids = funding_ids(text, rows)
    if want.get("nonempty") and not ids:
        return False
    if "any_of" in want and not set(want["any_of"]) & set(ids[:3]):
        return False
    for i in ids:
        r = rows[i]
        if "budget_at_least" in want and max(r.grant_max_eur or 0, r.budget_total_eur or 0) < want["budget_at_least"]:
            return False
        if "grant_min_at_most" in want and (r.grant_min_eur or 0) > want["grant_min_at_most"]:
            return False
        if "opens_in_year" in want and not (r.opens_on and str(r.opens_on)[:4] == str(want["opens_in_year"])):
            return False
        if "deadline_in_year" in want and not any(str(d.get("at", ""))[:4] == str(want["deadline_in_year"])
                                                  for d in (r.deadlines or [])):
            return False
        if "level_not" in want and r.level == want["level_not"]:
            return False
    return True


# --------------------------------------------------------------------------- the run
@pytest.fixture
async def bot(tmp_path, monkeypatch):
    services = await make_services(tmp_path / "data", modules=None, language="nl", load_sample_data=True,
                                   rate_limit_count=10**6)
    services.clock = Clock(NOW)
    scheduler = Scheduler(services, lambda: None)
    services.scheduler = scheduler
    await scheduler.start()
    observer = Observer()
    observer.install(monkeypatch, services.registry)
    try:
        async with services.db.session() as s:
            rows = {r.id: r for r in (await s.scalars(select(FundingInstrument))).all()}
        yield services, Chat(services), observer, rows
    finally:
        await scheduler.shutdown()
        await services.db.dispose()


async def judge(case, services, chat, observer, rows) -> dict:
    sender, room = f"@u-{case['id']}:test", f"!r-{case['id']}:test"
    services.access.admins.add(sender)   # `dsih-bot console` makes the person an admin by default
    for n, before in enumerate(case.get("before", ())):
        who = sender if before.get("sender") == "self" else f"@other{n}-{case['id']}:test"
        await chat.send(before["message"], sender=who, room=room, direct=True)
    expect = case["expect"]
    caps = expect["capability"] if isinstance(expect["capability"], list) else [expect["capability"]]
    commands = expect.get("commands")
    start = len(observer.events)
    text = "\n\n".join(o.markdown for o in await chat.send(case["message"], sender=sender, room=room, direct=True))
    answered = observer.answer(start)
    events = observer.events[start:]

    def right(ev):
        """The expected capability answered; with `commands` listed, by one of them (also when a
        question handler ran it), or by a question handler of the capability where nothing needs
        to be stored (privacy, sessions questions); where something must be stored, the effect
        check below decides whether a question handler did what the command would."""
        if ev is None or ev["capability"] not in caps:
            return False
        if not commands or ev["kind"] == "command" and ev["name"] in commands:
            return True
        ran = any(e["kind"] == "command" and e["done"] and e["name"] in commands for e in observer.events[start:])
        return ran or ev["kind"] == "question" and ("effect" not in expect or bool(effect_now))
    effect_now = None
    capability = right(answered)
    how = f"{answered['kind']} {answered['capability']}/{answered['name']}" if answered else "nothing answered"
    reply_lang = answered["lang"] if answered else text_language(text)
    kinds = list(expect.get("effect", {}))

    async def effects_ok() -> bool:
        for k, v in expect.get("effect", {}).items():
            if not effect_ok(k, v, await stored_effect(services, sender, k)):
                return False
        return True
    effect = await effects_ok()
    if not capability and effect and "effect" in expect:
        effect_now = True
        capability = right(answered)
    # The person may be shown the exact command to run (where the case allows it, or where the
    # capability answered but only proposed it): then it is run, as the person would.
    if expect.get("confirm") or (capability and kinds and not effect):
        props = proposals(text, services.registry, caps, commands) if not (capability and effect) else []
        if props and (not capability or not effect):
            start2 = len(observer.events)
            await chat.send(props[0], sender=sender, room=room, direct=True)
            ran = observer.answer(start2)
            if expect.get("confirm") and right(ran):
                capability, how = True, how + f" -> proposed `{props[0][:60]}` ran"
            events = events + observer.events[start2:]
            effect = await effects_ok()
    args = args_ok(expect["args"], events) if "args" in expect else True
    results = results_ok(expect["results"], text, rows) if "results" in expect else True
    lang_ok = reply_lang == expect.get("reply_lang", case["lang"])
    detail = {"capability": capability, "effect": effect and args and results, "lang": lang_ok}
    detail["all"] = all(detail.values())
    detail["checked"] = any(k in expect for k in ("effect", "args", "results"))
    detail["how"], detail["reply_lang"], detail["text"] = how, reply_lang, text
    return detail


def _row(label, rs):
    n, checked = len(rs), [r for r in rs if r["checked"]]
    cells = [f"{sum(r['capability'] for r in rs):>3}/{n:<3}",
             f"{sum(r['effect'] for r in checked):>3}/{len(checked):<3}" if checked else "    -    ",
             f"{sum(r['lang'] for r in rs):>3}/{n:<3}", f"{sum(r['all'] for r in rs):>3}/{n:<3}"]
    return f"  {label:<26}" + " ".join(f"{c:>9}" for c in cells)


async def test_understanding_set(bot, report_figure):
    services, chat, observer, rows = bot
    results = []
    for case in CASES:
        d = await judge(case, services, chat, observer, rows)
        results.append((case, d))
    flat = [d for _, d in results]
    by_lang, by_class, by_cap = defaultdict(list), defaultdict(list), defaultdict(list)
    for case, d in results:
        by_lang[case["lang"]].append(d)
        by_class[case["class"]].append(d)
        cap = case["expect"]["capability"]
        by_cap[cap if isinstance(cap, str) else "/".join(cap)].append(d)
    lines = [f"  {'':<26}" + " ".join(f"{h:>9}" for h in ("capability", "args", "language", "all"))]
    lines += [_row("TOTAL", flat)] + [_row(f"lang {k}", v) for k, v in sorted(by_lang.items())]
    lines += [_row(f"class {k}", v) for k, v in sorted(by_class.items())]
    lines += [_row(f"capability {k}", v) for k, v in sorted(by_cap.items())]
    print("\nunderstanding set (issue 19): capability reached / stored effect+arguments+records shown (of the cases "
          "that check them) / reply language / all")
    print("\n".join(lines))
    total_all = sum(d["all"] for d in flat)
    total_cap = sum(d["capability"] for d in flat)
    per_lang = ", ".join(f"{k} {sum(d['all'] for d in v)}/{len(v)}" for k, v in sorted(by_lang.items()))
    report_figure(f"understanding set (issue 19): {total_all}/{len(flat)} fully understood ({per_lang}); "
                  f"right capability {total_cap}/{len(flat)}, arguments/effect "
                  f"{sum(d['effect'] for d in flat if d['checked'])}/{sum(d['checked'] for d in flat)}, reply language {sum(d['lang'] for d in flat)}/{len(flat)}; "
                  f"floor {BASELINE_ALL} all, {BASELINE_CAPABILITY} capability")
    for k, v in sorted(by_cap.items()):
        report_figure(f"  understanding, capability {k}: {sum(d['all'] for d in v)}/{len(v)} fully, "
                      f"{sum(d['capability'] for d in v)}/{len(v)} reached")
    for case, d in results:
        if not d["all"]:
            first = next((ln.strip() for ln in d["text"].splitlines() if ln.strip()), "")[:110]
            wrong = ", ".join(k for k in ("capability", "effect", "lang") if not d[k])
            print(f"  miss {case['id']} [{wrong}] {case['message']!r}\n"
                  f"       expected {case['expect'].get('capability')} {case['expect'].get('commands') or ''}"
                  f" lang {case['expect'].get('reply_lang', case['lang'])}; got {d['how']}, lang {d['reply_lang']}\n"
                  f"       reply: {first}")
    assert total_all >= BASELINE_ALL
    assert total_cap >= BASELINE_CAPABILITY


CONTROLS = [   # commands the bot understands today: the harness must see each of them succeed
    {"id": "ctl-session", "lang": "nl", "message": "!sessie nieuw \"Controle\" morgen 14:00",
     "expect": {"capability": "sessions", "commands": ["session new"], "effect": {"session": {"when": "2026-11-26 14:00"}}}},
    {"id": "ctl-poll", "lang": "nl", "message": "!sessie peiling \"Controle\" maandag 9:00 | woensdag 13:00",
     "expect": {"capability": "sessions", "commands": ["session poll"],
                "effect": {"poll": {"slots": ["2026-11-30 09:00", "2026-11-25 13:00"]}}}},
    {"id": "ctl-share", "lang": "en", "message": "!share https://example.org/control \"Control item\" #climate-adaptation",
     "expect": {"capability": "knowledge", "commands": ["share"],
                "effect": {"shared": {"url_contains": "example.org/control", "topics_any": ["climate-adaptation"]}}}},
    {"id": "ctl-reminder", "lang": "nl", "message": "!herinner morgen 9:00 bel Rotterdam",
     "expect": {"capability": "reminders", "effect": {"reminder": {"when": "2026-11-26 09:00", "text_contains": "bel Rotterdam"}}}},
    {"id": "ctl-subscribe", "lang": "en", "message": "!subscribe climate-adaptation monthly",
     "expect": {"capability": "digests", "effect": {"subscription": {"topics": ["climate-adaptation"], "frequency": "monthly"}}}},
    {"id": "ctl-mydata", "lang": "en", "message": "!mydata", "expect": {"capability": "admin", "commands": ["mydata"]}},
    {"id": "ctl-sessions", "lang": "en", "message": "!sessions", "expect": {"capability": "sessions"}},
    {"id": "ctl-budget", "lang": "en", "message": "!funding energy --min-budget 1000000",
     "expect": {"capability": "funding", "args": {"min-budget": 1000000},
                "results": {"nonempty": True, "budget_at_least": 1000000}}},
    {"id": "ctl-wrong", "lang": "en", "message": "!funding energy",
     "expect": {"capability": "sessions"}},   # the negative control: must be judged a miss
]


async def test_harness_sees_success_and_failure(bot):
    """Every kind of check can pass (the harness is not blind) and a wrong capability is a miss."""
    services, chat, observer, rows = bot
    for case in CONTROLS:
        d = await judge(case, services, chat, observer, rows)
        if case["id"] == "ctl-wrong":
            assert not d["capability"] and not d["all"], d["how"]
        else:
            assert d["all"], (case["id"], d["how"], d["reply_lang"], d["text"][:300])
