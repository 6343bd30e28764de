"""The bot under test, run exactly as an operator runs it: `dsih-bot run --config FILE`
in its own process, with its own data directory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

import bot as bot_pkg

BOT_PASSWORD = "bot-password-not-secret"


class BotProcess:
    def __init__(self, workdir: Path, homeserver: str, user_id: str, *, admins=(), facilitators=(),
                 extra_bot: dict | None = None, extra_matrix: dict | None = None, env: dict | None = None,
                 extra_sections: dict | None = None, data_dir: Path | None = None):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.user_id = user_id
        self.config_path = workdir / "config.yaml"
        self.log_path = workdir / "bot.log"
        self.proc: subprocess.Popen | None = None
        self.env = env or {}
        config = {
            "matrix": {"homeserver": homeserver, "user_id": user_id, "password": BOT_PASSWORD,
                       "device_name": "dsih-bot-under-test", "reconnect_max_seconds": 2,
                       **(extra_matrix or {})},
            # Replicas (tests/e2e/test_replicas_e2e.py) share one data_dir: one device, one crypto store.
            "storage": {"data_dir": str(data_dir or workdir / "data")},
            "bot": {"language": "en", "admins": list(admins), "facilitators": list(facilitators),
                    "allowed_users": ["@*:localhost"], **(extra_bot or {})},
            "logging": {"level": "INFO"},
            **(extra_sections or {}),
        }
        self.config_path.write_text(yaml.safe_dump(config))

    @staticmethod
    def executable() -> str:
        exe = Path(sys.executable).parent / "dsih-bot"
        return str(exe) if exe.exists() else "dsih-bot"

    def start(self, wait_ready: bool = True, timeout: float = 60) -> "BotProcess":
        env = dict(os.environ)
        # Run the same code the tests import (installed package in CI, source tree in development).
        env["PYTHONPATH"] = str(Path(bot_pkg.__file__).resolve().parents[1])
        env.update(self.env)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([self.executable(), "run", "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()
        if wait_ready:
            self.wait_log("ready:", timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle: str, timeout: float = 30, since_start: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()[self._log_offset if since_start else 0:]
            if needle in text:
                return
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode} before {needle!r}:\n{text[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"bot log never showed {needle!r}:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no chance to save anything."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
