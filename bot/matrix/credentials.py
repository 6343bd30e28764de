"""The access token and device id, kept across restarts so the bot stays one device
(needed for E2EE). Written atomically with mode 0600."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str

    def __repr__(self) -> str:  # never print the token
        return f"Credentials(user_id={self.user_id!r}, device_id={self.device_id!r}, homeserver={self.homeserver!r})"


def load(path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text())
        return Credentials(**{k: data[k] for k in ("homeserver", "user_id", "device_id", "access_token")})
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        return None


def save(path: Path, creds: Credentials) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(creds), fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def forget(path: Path) -> None:
    path.unlink(missing_ok=True)


def make_private(data_dir: Path) -> None:
    """The crypto store (device keys: whoever reads them can decrypt as the bot) and the
    credentials readable by the bot's user only, also when an older version or another
    umask left them readable."""
    for path in (data_dir / "credentials.json", data_dir / "crypto"):
        if path.exists():
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
    crypto = data_dir / "crypto"
    if crypto.is_dir():
        for path in crypto.rglob("*"):
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
