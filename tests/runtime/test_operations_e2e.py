"""Operations in a real Synapse: the optional metrics listener serves Prometheus metrics
that count real commands, a liveness probe, and a readiness probe that turns ready once
the bot has logged in and synced."""
from __future__ import annotations

import socket
import urllib.request

import pytest

from support.e2e_helpers import body_of

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = _free_port()


def _get(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.parametrize("bot_options", [{"metrics": {"listen": str(PORT)}}])
async def test_metrics_and_probes(alice, bot, room, ask, bot_options):
    assert body_of(await ask(alice, room, "!ping", bot_id=bot.user_id)) == "Pong!"
    await ask(alice, room, "!nosuchcommand", bot_id=bot.user_id)
    assert _get("/healthz") == (200, "ok\n")
    assert _get("/readyz") == (200, "ready\n")
    status, text = _get("/metrics")
    assert status == 200
    assert 'dsih_commands_total{command="ping",outcome="ok"} 1.0' in text
    assert 'dsih_commands_total{command="unknown",outcome="bad_input"} 1.0' in text
    assert 'dsih_messages_total{result="sent"}' in text and "dsih_reply_seconds_bucket" in text
    assert "nosuchcommand" not in text  # free text never becomes a label
    # What waits in the database is read at each scrape: a reminder planned now shows up.
    await ask(alice, room, "!remindme 2h tea", bot_id=bot.user_id)
    _, text = _get("/metrics")
    assert 'dsih_jobs_pending{kind="reminder"} 1.0' in text
    assert 'dsih_jobs_overdue{kind="reminder"} 0.0' in text
    lag = [line for line in text.splitlines() if line.startswith("dsih_sync_lag_seconds_count")]
    assert lag and float(lag[0].split()[-1]) >= 3   # !ping, !nosuchcommand, !remindme
    assert "dsih_digests_due 0.0" in text and "dsih_outbox_pending" in text
