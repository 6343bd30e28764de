"""Transport-free HTTP for what capabilities serve on the bot's listener (a calendar feed):
a capability declares routes in its manifest (`extras["http_routes"]`, a tuple of
HttpRoute); the runtime's listener (bot/metrics.py) mounts them and adapts requests and
responses. A handler gets the long-lived Services and a request; it opens its own
database session (the listener is read-only for capabilities: no effects here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    match: Mapping[str, str]            # the route's {placeholders}
    headers: Mapping[str, str]          # case-insensitive in the runtime's adapter
    remote: str | None = None


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRoute:
    path: str                           # aiohttp syntax: "/calendar/{token}.ics"
    handler: Callable[[Any, HttpRequest], Awaitable[HttpResponse]]   # (services, request)
    method: str = "GET"
