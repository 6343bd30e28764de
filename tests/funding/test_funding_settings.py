"""The `funding:` settings section (stale_after, the eu-ft refresh) and bot.pretend_now, the
fixed-but-advancing clock for tests and demos."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import pretend_clock
from config.settings import ConfigError, load_settings
from support.chat import make_services


@pytest.mark.parametrize("raw,days", [("60d", 60), ("8w", 56), ("30 days", 30), ("P45D", 45), ("90 dagen", 90)])
def test_stale_after_accepts_durations(tmp_path, raw, days):
    path = tmp_path / "c.yaml"
    path.write_text(f"funding:\n  stale_after: {raw}\n")
    assert load_settings(path).funding.stale_after == timedelta(days=days)


def test_defaults_and_environment(monkeypatch):
    s = load_settings()
    assert s.funding.stale_after == timedelta(days=60) and s.funding.unseen_after == timedelta(days=14)
    assert str(s.funding.eu_ft_url) == "https://api.tech.ec.europa.eu/search-api/prod/rest/search"
    assert s.funding.eu_ft_api_key == "SEDIA" and s.bot.pretend_now is None
    monkeypatch.setenv("DSIH_BOT__FUNDING__STALE_AFTER", "10d")
    monkeypatch.setenv("DSIH_BOT__BOT__PRETEND_NOW", "2026-11-25T12:00:00+00:00")
    s = load_settings()
    assert s.funding.stale_after == timedelta(days=10)
    assert s.bot.pretend_now == datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("yaml_text,needle", [
    ("funding:\n  stale_after: soon\n", "funding.stale_after"),
    ("funding:\n  stale_after: 0d\n", "positive duration"),
    ("funding:\n  eu_ft_url: not a url\n", "funding.eu_ft_url"),
    ("funding:\n  stal_after: 3d\n", "funding.stal_after"),
    ("bot:\n  pretend_now: 2026-11-25T12:00:00\n", "with a zone"),
])
def test_bad_funding_settings_are_named(tmp_path, yaml_text, needle):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert needle in str(err.value)


def test_pretend_clock_starts_at_the_given_time_and_advances():
    start = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    clock = pretend_clock(start)
    first = clock()
    time.sleep(0.05)
    second = clock()
    assert timedelta(0) <= first - start < timedelta(seconds=1) and second > first


async def test_build_services_uses_pretend_now(tmp_path, monkeypatch):
    monkeypatch.setenv("DSIH_BOT__BOT__PRETEND_NOW", "2030-01-01T00:00:00+01:00")
    services = await make_services(tmp_path / "data", modules=("core",))
    try:
        elapsed = services.clock() - datetime(2029, 12, 31, 23, 0, tzinfo=timezone.utc)   # 1 Jan 2030 00:00 +01:00
        assert timedelta(0) <= elapsed < timedelta(seconds=30)
    finally:
        await services.db.dispose()
