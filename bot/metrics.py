"""Operational metrics (Prometheus) and the optional HTTP listener that serves them with
liveness and readiness probes. Off by default (`metrics.listen`); loopback unless the
operator names another address. Each process has its own registry, so tests and the
console never share counters."""
from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.commands = Counter("dsih_commands", "Commands handled, by command and outcome",
                                ["command", "outcome"], registry=r)
        self.reply_seconds = Histogram("dsih_reply_seconds", "From the command's server timestamp to its reply "
                                       "being committed to the outbox", buckets=LATENCY_BUCKETS, registry=r)
        self.sent = Counter("dsih_messages", "Outbox messages by result (sent, rate_limited, transient, failed)",
                            ["result"], registry=r)
        self.jobs = Counter("dsih_jobs", "Scheduled jobs run, by kind and result (done, skipped, retry, failed)",
                            ["kind", "result"], registry=r)
        self.job_lateness = Histogram("dsih_job_lateness_seconds", "From a job's due time to its messages being "
                                      "committed", ["kind"], buckets=LATENCY_BUCKETS, registry=r)
        self.last_sync = Gauge("dsih_last_sync_timestamp_seconds", "Unix time of the last successful sync",
                               registry=r)
        self.internal_errors = Counter("dsih_internal_errors", "Internal errors answered with a reference",
                                       registry=r)
        # 1 in the process that serves commands; a standby replica (bot.matrix.leader) reports 0.
        self.replica_active = Gauge("dsih_replica_active", "1 when this process is the active replica, 0 on standby",
                                    registry=r)
        self.replica_active.set(1)
        self.started = Gauge("dsih_start_timestamp_seconds", "Unix time the process started", registry=r)
        self.started.set(time.time())
        self.sync_lag = Histogram("dsih_sync_lag_seconds", "From a message's server timestamp to the bot's sync "
                                  "delivering it", buckets=LATENCY_BUCKETS, registry=r)
        self.rate_limit_wait = Counter("dsih_rate_limit_wait_seconds", "Seconds the homeserver asked the bot to wait "
                                       "(429) before sending", registry=r)
        self.feed_polls = Counter("dsih_feed_polls", "Feed polls by result (fetched, not_modified, failed)",
                                  ["result"], registry=r)
        self.jobs_pending = Gauge("dsih_jobs_pending", "Scheduled jobs waiting (reminders, digests, feed polls, "
                                  "…), by kind; refreshed at each scrape", ["kind"], registry=r)
        self.jobs_overdue = Gauge("dsih_jobs_overdue", "Pending jobs past their due time, by kind; refreshed at "
                                  "each scrape", ["kind"], registry=r)
        self.digests_due = Gauge("dsih_digests_due", "Digest subscriptions due now (not paused); refreshed at each "
                                 "scrape", registry=r)
        self.outbox_pending = Gauge("dsih_outbox_pending", "Messages waiting to be sent; refreshed at each scrape",
                                    registry=r)

    def command(self, name: str, outcome: str, since_ms: int | None = None) -> None:
        self.commands.labels(name, outcome).inc()
        if since_ms:
            self.reply_seconds.observe(max(0.0, time.time() - since_ms / 1000))

    def render(self) -> bytes:
        return generate_latest(self.registry)


ReadyCheck = Callable[[], Awaitable[list[str]]]  # returns what is not ready (empty = ready)


def parse_listen(value: str) -> tuple[str, int]:
    """`9464` (loopback), `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464` (explicitly all)."""
    value = value.strip()
    if value.isdigit():
        return "127.0.0.1", int(value)
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def refresh_from_database(metrics: Metrics, db) -> None:
    """The gauges that describe what waits in the database (jobs due and overdue, digests
    due, outbox), read when /metrics is scraped rather than kept up to date by every writer."""
    from datetime import datetime, timezone

    from sqlalchemy import func, select

    from storage.models.core import OutboxMessage, ScheduledJob
    from storage.digests.models import DigestSubscription

    now = datetime.now(timezone.utc)
    async with db.session() as s:
        pending = (await s.execute(select(ScheduledJob.kind, func.count()).where(ScheduledJob.status == "pending")
                                   .group_by(ScheduledJob.kind))).all()
        overdue = dict((await s.execute(select(ScheduledJob.kind, func.count()).where(
            ScheduledJob.status == "pending", ScheduledJob.run_at < now).group_by(ScheduledJob.kind))).all())
        digests = await s.scalar(select(func.count()).select_from(DigestSubscription).where(
            DigestSubscription.next_due_at <= now,
            (DigestSubscription.paused_until.is_(None)) | (DigestSubscription.paused_until <= now)))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
    metrics.jobs_pending.clear()
    metrics.jobs_overdue.clear()
    for kind, count in pending:
        metrics.jobs_pending.labels(kind).set(count)
        metrics.jobs_overdue.labels(kind).set(overdue.get(kind, 0))
    metrics.digests_due.set(digests or 0)
    metrics.outbox_pending.set(outbox or 0)


class MetricsServer:
    """/metrics, /healthz (the process answers) and /readyz (logged in, synced recently,
    database reachable) on aiohttp, which matrix-nio already brings."""

    def __init__(self, metrics: Metrics, listen: str, ready: ReadyCheck,
                 refresh: Callable[[], Awaitable[None]] | None = None):
        self.metrics, self.ready, self.refresh = metrics, ready, refresh
        self.host, self.port = parse_listen(listen)
        self._runner = None

    async def start(self) -> None:
        from aiohttp import web

        async def metrics_handler(_request):
            if self.refresh is not None:
                try:
                    await self.refresh()
                except Exception as exc:  # noqa: BLE001 - the counters are still worth serving
                    log.warning("could not refresh the database gauges: %s", exc)
            return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def healthz(_request):
            return web.Response(text="ok\n")

        async def readyz(_request):
            problems = await self.ready()
            if problems:
                return web.Response(status=503, text="not ready: " + "; ".join(problems) + "\n")
            return web.Response(text="ready\n")

        app = web.Application()
        app.add_routes([web.get("/metrics", metrics_handler), web.get("/healthz", healthz), web.get("/readyz", readyz)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics and probes on http://%s:%d (/metrics, /healthz, /readyz)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
