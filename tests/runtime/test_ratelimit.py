"""The backlog under the homeserver's rate limit: measured from sends and 429s, shown in
`!admin stats` (via the runtime's extras) and logged with what the operator can do."""
from __future__ import annotations

import logging

from bot.ratelimit import RateWatch


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_no_429_no_state():
    watch = RateWatch("@bot:hs", "https://hs", clock=FakeClock())
    for _ in range(50):
        watch.note_sent()
    assert watch.state(100) is None


def test_rate_and_eta_follow_what_was_sent_under_the_limit():
    clock = FakeClock()
    watch = RateWatch("@bot:hs", "https://hs", clock=clock)
    for _ in range(24):  # 0.2/s for two minutes, 429s in between
        watch.note_limited(5.0)
        clock.now += 5
        watch.note_sent()
    state = watch.state(1000)
    assert 0.15 < state["rate"] < 0.25
    assert 4000 < state["eta_seconds"] < 6700  # 1,000 messages at 0.2/s: about 83 minutes
    assert "/_synapse/admin/v1/users/@bot:hs/override_ratelimit" in state["override"]
    # Nothing sent at all: the rate comes from the waits asked for.
    quiet = RateWatch("@bot:hs", clock=FakeClock())
    quiet.note_limited(10.0)
    assert quiet.state(10)["eta_seconds"] == 100


def test_limit_forgotten_after_five_quiet_minutes_and_logged_once_a_minute(caplog):
    clock = FakeClock()
    watch = RateWatch("@bot:hs", "https://hs", clock=clock)
    watch.note_limited(5.0)
    with caplog.at_level(logging.WARNING, logger="bot.ratelimit"):
        assert watch.should_log()
        watch.log_backlog(300)
        assert not watch.should_log()
    text = caplog.text
    assert "300 message(s) waiting" in text and "override_ratelimit" in text and "rc_message" in text
    clock.now += 301
    assert watch.state(300) is None
