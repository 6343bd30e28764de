"""The e2e secrets check (support/secrets_check.py, run after every e2e bot) fails on what it names."""
from __future__ import annotations

import json

from support.secrets_check import secret_problems


def _workdir(tmp_path, *, log="ready: synced\n", creds_mode=0o600, crypto_mode=0o600):
    data = tmp_path / "data"
    (data / "crypto").mkdir(parents=True, mode=0o700)
    creds = data / "credentials.json"
    creds.write_text(json.dumps({"access_token": "syt_secret_token", "user_id": "@bot:test"}))
    creds.chmod(creds_mode)
    store = data / "crypto" / "bot.db"
    store.write_text("keys")
    store.chmod(crypto_mode)
    (tmp_path / "bot.log").write_text(log)
    return tmp_path


def test_a_clean_run_has_no_problems(tmp_path):
    assert secret_problems(_workdir(tmp_path), "pw-123") == []


def test_password_or_token_in_the_log_is_found(tmp_path):
    problems = secret_problems(_workdir(tmp_path, log="login with pw-123 gave syt_secret_token\n"), "pw-123")
    assert problems == ["the password appears in bot.log", "the access token appears in bot.log"]


def test_readable_credentials_or_crypto_store_is_found(tmp_path):
    problems = secret_problems(_workdir(tmp_path, creds_mode=0o644, crypto_mode=0o640), "pw-123")
    assert len(problems) == 2 and "credentials.json has mode 644" in problems[0] and "bot.db has mode 640" in problems[1]
