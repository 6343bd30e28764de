"""What the homeserver's rate limit means for the backlog, for the operator.

Synapse limits an ordinary account to `rc_message` (by default 0.2 messages a second after
a burst of 10): 1,000 digests then take well over an hour, 10,000 about 14 hours. The
outbox sender tells this watch about every send and every 429; the log (at most once a
minute) and `!admin stats` (through `services.extras["send_rate"]`, a plain dict so no
capability imports the runtime) then say how long the waiting messages will take and
what the operator can do: exempt the bot's user with Synapse's admin API
`override_ratelimit`, or raise `rc_message` in homeserver.yaml."""
from __future__ import annotations

import logging
import time
from collections import deque

log = logging.getLogger(__name__)

WINDOW = 120.0      # seconds of sends the rate is measured over
LIMITED_FOR = 300.0  # a 429 this recent means "rate limited now"
LOG_EVERY = 60.0


def override_request(homeserver: str, user_id: str) -> str:
    """The admin API call that exempts the bot (Synapse >= 1.x)."""
    return (f"curl -X POST -H 'Authorization: Bearer <admin token>' "
            f"'{homeserver.rstrip('/')}/_synapse/admin/v1/users/{user_id}/override_ratelimit' "
            """-d '{"messages_per_second": 0, "burst_count": 0}'""")


class RateWatch:
    def __init__(self, user_id: str, homeserver: str = "", clock=time.monotonic):
        self.user_id = user_id
        self.homeserver = homeserver
        self.clock = clock
        self.sent: deque[float] = deque()
        self.limited: deque[tuple[float, float]] = deque()  # (when, retry_after)
        self.total_limited = 0
        self.total_wait = 0.0
        self._logged = -LOG_EVERY

    def _trim(self, now: float) -> None:
        while self.sent and now - self.sent[0] > WINDOW:
            self.sent.popleft()
        while self.limited and now - self.limited[0][0] > LIMITED_FOR:
            self.limited.popleft()

    def note_sent(self) -> None:
        now = self.clock()
        self.sent.append(now)
        self._trim(now)

    def note_limited(self, retry_after: float) -> None:
        now = self.clock()
        self.limited.append((now, retry_after))
        self.total_limited += 1
        self.total_wait += retry_after
        self._trim(now)

    def state(self, pending: int) -> dict | None:
        """None when no 429 came lately; else the backlog, the measured rate (messages a
        second) and the estimated time (seconds) to send what waits."""
        now = self.clock()
        self._trim(now)
        if not self.limited:
            return None
        # Only sends since the first recent 429 tell the limited rate (the burst before it
        # went out at full speed); until a few have gone, the waits asked for tell it.
        first = self.limited[0][0]
        since = [t for t in self.sent if t >= first]
        if len(since) >= 3:
            rate = len(since) / min(WINDOW, max(1.0, now - first))
        else:
            waits = [w for _, w in self.limited]
            rate = 1.0 / max(0.1, sum(waits) / len(waits))
        return {"pending": pending, "rate": rate, "eta_seconds": pending / rate if rate else None,
                "limited": len(self.limited), "user_id": self.user_id,
                "override": override_request(self.homeserver or "https://<homeserver>", self.user_id)}

    def should_log(self) -> bool:
        now = self.clock()
        if now - self._logged >= LOG_EVERY:
            self._logged = now
            return True
        return False

    def log_backlog(self, pending: int) -> None:
        state = self.state(pending)
        if state is None:
            return
        eta = state["eta_seconds"] or 0
        log.warning(
            "the homeserver is rate-limiting the bot (429): %d message(s) waiting, sent at about %.2f/s, "
            "that takes about %dh%02dm. Synapse allows an ordinary account rc_message (default 0.2/s after a "
            "burst of 10). To exempt the bot, a homeserver admin runs: %s (or raises rc_message in "
            "homeserver.yaml). See the operator guide, 'Rate limits'.",
            pending, state["rate"], int(eta // 3600), int(eta % 3600 // 60), state["override"])
