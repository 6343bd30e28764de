"""Digest composition at scale, on SQLite (default 10,000 subscribers over the 12
topics, 50,000 knowledge items shared over the last 30 days, the bundled funding data,
200 planned sessions).

Measured in the same run:
  - batched: what one scheduled run does (commands/digests/delivery.py): one `gather`
    for all due subscribers (a fixed number of queries), then each digest picked and
    rendered in memory — composition time and query count;
  - naive: single-subscriber composition, the way a per-subscription job would do it:
    per subscriber its preferences, and per topic its new items and events (SQL filter
    on the topic through json_each), then funding, sessions and labs — time and query
    count for a sample of subscribers, extrapolated to all of them (the full naive run
    takes minutes; --naive-sample N sets the sample, 0 = everyone);
  - the full batched run_due with its writes (watermarks, records, 10,000 outbox rows
    in chunks), for reference.
Queries are counted with a SQLAlchemy before_cursor_execute listener.

    python bench/bench_digests.py [--subscribers 10000] [--items 50000] [--naive-sample 500]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, row  # noqa: E402

from sqlalchemy import event, insert, select, text  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.framework.i18n import Translator  # noqa: E402
from commands.digests import delivery  # noqa: E402
from commands.digests.render import render_digest  # noqa: E402
from config.settings import load_settings  # noqa: E402
from storage import topics as topic_list  # noqa: E402
from bot.framework.digest_parts import Deadline, Instrument, Item, LabEntry, Session  # noqa: E402
from storage.digests.compose import Candidates, gather, select_for, topics_of  # noqa: E402
from storage.knowledge.digest import EVENT_KINDS  # noqa: E402
from storage.funding.records import next_deadline  # noqa: E402
from storage.models.core import UserPrefs  # noqa: E402
from storage.digests.models import DigestSubscription  # noqa: E402
from storage.funding.models import FundingInstrument  # noqa: E402
from storage.knowledge.models import KINDS, KnowledgeItem  # noqa: E402
from storage.labs.models import Lab  # noqa: E402
from storage.sessions.models import ReviewSession  # noqa: E402

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine.sync_engine, 0

    def _on(self, *_):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *_):
        event.remove(self.engine, "before_cursor_execute", self._on)


async def fill(services, n_subs: int, n_items: int, rng: random.Random) -> None:
    ids = topic_list.ids()
    items = []
    for i in range(n_items):
        kind = rng.choice(KINDS)
        shared = NOW - timedelta(seconds=rng.randint(60, 30 * 86400))
        items.append(dict(title=f"Item {i} over {rng.choice(ids)} {rng.randint(0, 10**6)}", summary=None,
                          url=f"https://example.org/k/{i}", url_key=f"example.org/k/{i}", kind=kind,
                          topics=rng.sample(ids, rng.choice([1, 1, 2, 3])), organisation="Gemeente Bench",
                          language="nl", status="published" if rng.random() > 0.05 else "pending",
                          event_date=(NOW + timedelta(days=rng.randint(-10, 60))) if kind in EVENT_KINDS else None,
                          shared_at=shared))
    subs = []
    for i in range(n_subs):
        subs.append(dict(subscriber=f"@user{i}:bench", is_room=False, topics=rng.sample(ids, rng.choice([1, 2, 3])),
                         frequency="weekly", at_time="09:00", weekday=0, day_of_month=None,
                         watermark=NOW - timedelta(days=7), next_due_at=NOW - timedelta(minutes=1),
                         created_by=f"@user{i}:bench", created_at=NOW - timedelta(days=60)))
    sessions = [dict(title=f"Sessie {i}", topic=rng.choice(ids), facilitator="@facil:bench",
                     starts_at=NOW + timedelta(hours=rng.randint(1, 60 * 24)),
                     ends_at=NOW + timedelta(hours=rng.randint(1, 60 * 24), minutes=90), capacity=8,
                     room_id="!room:bench", status="planned", timezone="Europe/Amsterdam", language="nl",
                     created_at=NOW - timedelta(days=rng.randint(0, 20))) for i in range(200)]
    async with services.db.transaction() as s:
        for chunk in range(0, len(items), 5000):
            await s.execute(insert(KnowledgeItem), items[chunk:chunk + 5000])
        for chunk in range(0, len(subs), 5000):
            await s.execute(insert(DigestSubscription), subs[chunk:chunk + 5000])
        await s.execute(insert(ReviewSession), sessions)
        await s.execute(insert(UserPrefs), [dict(user_id=f"@user{i}:bench", language=rng.choice(["nl", "en"]),
                                                 timezone=None) for i in range(0, n_subs, 3)])


async def load_subs(services):
    async with services.db.session() as s:
        return list((await s.scalars(select(DigestSubscription).order_by(DigestSubscription.id))).all())


async def batched(services, subs) -> int:
    """Composition as one run does it: one gather, then in memory per subscriber."""
    cfg, settings = services.settings.digests, services.settings
    async with services.db.session() as s:
        prefs = await delivery.load_prefs(s, [x.subscriber for x in subs])
        cand = await gather(s, min(x.watermark for x in subs), topics_of(subs), NOW, cfg.horizon,
                            services.registry.contributions("digest"))
    sent = 0
    for sub in subs:
        digest = select_for(cand, sub.topics, sub.watermark, cfg.max_items)
        if digest.fresh:
            render_digest(delivery.translator_of(sub, prefs, settings), digest, now=NOW, prefix="!")
            sent += 1
    return sent


_HAS_TOPIC = "EXISTS (SELECT 1 FROM json_each(knowledge_items.topics) WHERE json_each.value = :topic)"


async def naive_one(services, sub) -> bool:
    """One subscriber on its own: preferences, per topic new items and events, then
    funding, sessions and labs — the per-subscription way."""
    cfg, settings = services.settings.digests, services.settings
    cutoff = NOW - timedelta(seconds=10)
    cand = Candidates(now=NOW, cutoff=cutoff)
    wanted = set(sub.topics)
    cols = (KnowledgeItem.id, KnowledgeItem.title, KnowledgeItem.url, KnowledgeItem.kind, KnowledgeItem.topics,
            KnowledgeItem.organisation, KnowledgeItem.event_date, KnowledgeItem.shared_at)
    async with services.db.session() as s:
        pref = await s.get(UserPrefs, sub.subscriber)
        for topic in sub.topics:
            rows = (await s.execute(select(*cols).where(
                KnowledgeItem.status == "published", KnowledgeItem.shared_at > sub.watermark,
                KnowledgeItem.shared_at <= cutoff, text(_HAS_TOPIC).bindparams(topic=topic),
            ).order_by(KnowledgeItem.shared_at, KnowledgeItem.id))).all()
            mine = [Item(r.id, r.title, r.url, r.kind, tuple(r.topics), r.organisation, r.event_date, r.shared_at)
                    for r in rows if not (r.kind in EVENT_KINDS and r.event_date and r.event_date <= NOW + cfg.horizon)]
            cand.new_by_topic[topic] = mine
            cand.new_keys[topic] = [i.shared_at for i in mine]
            events = (await s.execute(select(*cols).where(
                KnowledgeItem.status == "published", KnowledgeItem.kind.in_(EVENT_KINDS),
                KnowledgeItem.event_date > NOW, KnowledgeItem.event_date <= NOW + cfg.horizon,
                text(_HAS_TOPIC).bindparams(topic=topic)).order_by(KnowledgeItem.event_date))).all()
            cand.events_by_topic[topic] = [Item(r.id, r.title, r.url, r.kind, tuple(r.topics), r.organisation,
                                                r.event_date, r.shared_at) for r in events]
            if events:
                cand.events_latest[topic] = max(r.shared_at for r in events)
        for fid, title, title_nl, themes, deadlines, updated in (await s.execute(select(
                FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
                FundingInstrument.deadlines, FundingInstrument.updated_at))).all():
            themes = tuple(t for t in themes or () if t in wanted)
            if not themes:
                continue
            nxt = next_deadline(FundingInstrument(id=fid, deadlines=deadlines), NOW)
            if nxt and nxt[0] <= NOW + cfg.horizon:
                cand.deadlines.append(Deadline(fid, title, title_nl, nxt[0], themes))
            if updated and sub.watermark < updated <= cutoff:
                cand.instruments.append(Instrument(fid, title, title_nl, themes, updated))
        cand.sessions = [Session(*r) for r in (await s.execute(select(
            ReviewSession.id, ReviewSession.title, ReviewSession.topic, ReviewSession.starts_at,
            ReviewSession.created_at).where(ReviewSession.status == "planned", ReviewSession.starts_at > NOW,
                                            ReviewSession.starts_at <= NOW + cfg.horizon,
                                            ReviewSession.topic.in_(sub.topics)).order_by(ReviewSession.starts_at))).all()]
        cand.labs = [LabEntry(r.id, r.name, r.municipality, tuple(r.themes or ()), r.updated_at) for r in (
            await s.execute(select(Lab.id, Lab.name, Lab.municipality, Lab.themes, Lab.updated_at).where(
                Lab.updated_at > sub.watermark, Lab.updated_at <= cutoff))).all() if wanted.intersection(r.themes or ())]
    digest = select_for(cand, sub.topics, sub.watermark, cfg.max_items)
    if digest.fresh:
        t = Translator((pref and pref.language) or settings.bot.language, settings.bot.timezone)
        render_digest(t, digest, now=NOW, prefix="!")
    return bool(digest.fresh)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--naive-sample", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as tmp:
        import os
        os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = tmp
        settings = load_settings()
        del os.environ["DSIH_BOT__STORAGE__DATA_DIR"]
        settings.storage.load_sample_data = True
        services = await build_services(settings, bot_user_id="@bot:bench")
        services.clock = lambda: NOW
        t0 = time.perf_counter()
        await fill(services, args.subscribers, args.items, rng)
        print(f"filled {args.subscribers:,} subscribers, {args.items:,} items in {time.perf_counter() - t0:.1f}s")
        subs = await load_subs(services)

        with QueryCounter(services.db.engine) as q:
            t0 = time.perf_counter()
            sent_batched = await batched(services, subs)
            batched_s = time.perf_counter() - t0
        batched_q = q.count

        sample = subs if args.naive_sample <= 0 else rng.sample(subs, min(args.naive_sample, len(subs)))
        with QueryCounter(services.db.engine) as q:
            t0 = time.perf_counter()
            sent_naive = sum([await naive_one(services, sub) for sub in sample])
            naive_sample_s = time.perf_counter() - t0
        scale = len(subs) / len(sample)
        naive_s, naive_q = naive_sample_s * scale, q.count * scale

        with QueryCounter(services.db.engine) as q:
            t0 = time.perf_counter()
            report = await delivery.run_due(services, NOW)
            run_s = time.perf_counter() - t0
        run_q = q.count

        n = len(subs)
        label = "measured" if len(sample) == n else f"{len(sample)} measured, x{scale:.0f}"
        print()
        print(f"{'composition of one run for ' + format(n, ',') + ' subscribers':<58} {'time (s)':>9} {'queries':>9}")
        print(f"{'batched: one gather, then in memory (this code)':<58} {batched_s:>9.2f} {batched_q:>9,}")
        print(f"{'naive: one subscriber at a time (' + label + ')':<58} {naive_s:>9.2f} {naive_q:>9,.0f}")
        print(f"{'ratio naive / batched':<58} {naive_s / batched_s:>9.1f}x {naive_q / batched_q:>8,.0f}x")
        print(f"{'batched run_due incl. writes (records, 10k outbox rows)':<58} {run_s:>9.2f} {run_q:>9,}")
        print()
        print(f"digests with something new: batched {sent_batched:,} of {n:,}; "
              f"naive {sent_naive:,} of {len(sample):,} sampled; run_due sent {report.sent:,}, "
              f"empty {report.empty:,}, failed {report.failed}")
        await services.db.dispose()
        emit("digests", [
            row(f"digest composition, {n:,} subscribers, {args.items:,} items", batched_s, "s",
                f"naive, one subscriber at a time ({label})", naive_s),
            row("digest composition: database queries", batched_q, "queries", "naive", naive_q),
            row("digest run incl. writes (records, outbox rows)", run_s, "s"),
        ])


if __name__ == "__main__":
    asyncio.run(main())
