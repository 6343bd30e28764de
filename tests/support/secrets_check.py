"""After a bot process has run: its logs hold neither its password nor its access token,
and what would let someone act as the bot (credentials.json, the crypto store, the
cross-signing keys) is readable
by the bot's own user only (files 0600, directories 0700)."""
from __future__ import annotations

import json
import stat
from pathlib import Path


def secret_problems(workdir: Path, password: str) -> list[str]:
    """Everything wrong, as readable lines (empty: all good). `workdir` is a BotProcess's."""
    data_dir = workdir / "data"
    problems: list[str] = []
    secrets = {"the password": password}
    creds_path = data_dir / "credentials.json"
    if creds_path.exists():
        token = json.loads(creds_path.read_text()).get("access_token")
        if token:
            secrets["the access token"] = token
        problems += _mode(creds_path, 0o600)
    else:
        problems.append(f"{creds_path} is missing: the bot never stored its login")
    logs = [workdir / "bot.log", *workdir.glob("*.log*"), *data_dir.glob("**/*.log*")]
    for log in dict.fromkeys(p for p in logs if p.is_file()):
        text = log.read_text(errors="replace")
        problems += [f"{name} appears in {log.name}" for name, value in secrets.items() if value and value in text]
    for name in ("cross_signing.json", "cross_signing.json.new"):  # cross-signing private keys
        if (data_dir / name).exists():
            problems += _mode(data_dir / name, 0o600)
    crypto = data_dir / "crypto"
    if crypto.exists():
        problems += _mode(crypto, 0o700)
        for path in crypto.rglob("*"):
            problems += _mode(path, 0o700 if path.is_dir() else 0o600)
    return problems


def _mode(path: Path, most: int) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    return [f"{path} has mode {mode:o} (at most {most:o})"] if mode & ~most else []
