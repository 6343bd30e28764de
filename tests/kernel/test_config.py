"""Operators' settings: YAML + environment, and one clear message for a bad file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def test_example_config_is_valid():
    s = load_settings(EXAMPLE)
    assert s.bot.command_prefix == "!" and s.bot.timezone == "Europe/Amsterdam"
    assert s.bot.max_command_age.total_seconds() == 900


def test_environment_overrides_yaml(monkeypatch):
    monkeypatch.setenv("DSIH_BOT__MATRIX__PASSWORD", "from-env")
    monkeypatch.setenv("DSIH_BOT__BOT__LANGUAGE", "en")
    s = load_settings(EXAMPLE)
    assert s.matrix.password.get_secret_value() == "from-env" and s.bot.language == "en"


@pytest.mark.parametrize("yaml_text,needle", [
    ("bot:\n  language: fr\n", "bot.language = 'fr'"),
    ("bot:\n  timezone: Mars/Olympus\n", "bot.timezone"),
    ("matrix:\n  homeserver: not a url\n", "matrix.homeserver"),
    ("bot:\n  admins: [bob]\n", "bot.admins"),
    ("bot:\n  languag: nl\n", "bot.languag"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_config_names_key_value_and_expectation(tmp_path, yaml_text, needle):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert needle in str(err.value)


def test_check_config_exit_codes(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("bot:\n  language: fr\nmatrix:\n  password: hunter2\n  homeserver: http://x\n  user_id: '@a:x'\n")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", "--config", str(bad)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "bot.language" in run.stderr and "hunter2" not in run.stderr + run.stdout
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", "--config", str(EXAMPLE)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "change-me" not in ok.stdout
    assert "warning: matrix.password is the example value" in ok.stderr   # valid, but surely a mistake
    real = tmp_path / "real.yaml"
    real.write_text(EXAMPLE.read_text().replace("change-me", "a-real-one-9f3"))
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", "--config", str(real)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "warning" not in ok.stderr, ok.stderr


def test_export_into_a_missing_folder_is_a_clean_error(tmp_path):
    env = {"DSIH_BOT__STORAGE__DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "export", "funding", "-o", str(tmp_path / "no" / "x.yaml")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1
    assert "does not exist" in run.stderr and "Traceback" not in run.stderr


def test_console_member_role_sees_what_a_member_sees(tmp_path):
    import bot
    # The same code the tests import (installed package in CI, with compiled catalogs).
    env = {"DSIH_BOT__STORAGE__DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(bot.__file__).resolve().parents[1])}
    args = [sys.executable, "-m", "bot.cli", "console", "--user", "@someone:example.org"]
    member = subprocess.run([*args, "--role", "member", "!funding set dumava-2025 title x"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert member.returncode == 0 and "Only a hub facilitator or an admin can use" in member.stdout, \
        member.stdout + member.stderr
    admin = subprocess.run([*args, "!funding set dumava-2025 title Nieuwe titel"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert "Only a hub facilitator" not in admin.stdout and "title" in admin.stdout


def test_durations_are_written_as_people_write_them(tmp_path):
    from datetime import timedelta

    cfg = tmp_path / "c.yaml"
    cfg.write_text("bot:\n  max_command_age: 15m\n  rate_limit_window: PT60S\n"
                   "sessions:\n  reminders: [1h, 24h, 3m]\n  report_after: 2d\n")
    s = load_settings(cfg)
    assert s.bot.max_command_age == timedelta(minutes=15) and s.bot.rate_limit_window == timedelta(seconds=60)
    # Offsets sorted longest first; short ones work so tests can use them.
    assert s.sessions.reminders == [timedelta(hours=24), timedelta(hours=1), timedelta(minutes=3)]
    assert s.sessions.report_after == timedelta(days=2)
    cfg.write_text("sessions:\n  reminders: [soon]\n")
    with pytest.raises(ConfigError, match="sessions.reminders.0.*not a duration"):
        load_settings(cfg)
