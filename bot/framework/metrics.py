"""Operational metrics (Prometheus): what handlers, jobs and the sender count. Each process
has its own registry, so tests and the console never share counters; the runtime serves
them (bot.metrics)."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
