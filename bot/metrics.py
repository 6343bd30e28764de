"""The optional HTTP listener that serves the metrics (bot.framework.metrics) with
liveness and readiness probes, and the gauges read from the database at each scrape. Off by default (`metrics.listen`); loopback unless the
operator names another address. Each process has its own registry, so tests and the
console never share counters."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.framework.metrics import Metrics

log = logging.getLogger(__name__)

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
                 refresh: Callable[[], Awaitable[None]] | None = None, routes=(), services=None):
        self.metrics, self.ready, self.refresh = metrics, ready, refresh
        # Routes the capabilities declare (manifest extras["http_routes"], bot.framework.http).
        self.routes, self.services = list(routes), services
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
        for route in self.routes:
            app.router.add_route(route.method, route.path, self._adapt(route))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics and probes on http://%s:%d (/metrics, /healthz, /readyz)", self.host, self.port)

    def _adapt(self, route):
        """A capability's HttpRoute as an aiohttp handler; a failure is a plain 500 (logged),
        never a traceback to the client."""
        from aiohttp import web

        from bot.framework.http import HttpRequest

        async def handler(request):
            req = HttpRequest(method=request.method, path=request.path, match=dict(request.match_info),
                              headers=request.headers, remote=request.remote)
            try:
                resp = await route.handler(self.services, req)
            except Exception:  # noqa: BLE001 - the listener must survive a capability's bug
                log.exception("HTTP route %s failed", route.path)
                return web.Response(status=500, text="internal error\n")
            return web.Response(status=resp.status, body=resp.body if resp.status != 304 else None,
                                headers={"Content-Type": resp.content_type, **resp.headers}
                                if resp.status != 304 else resp.headers)

        return handler

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
