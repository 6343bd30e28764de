"""The bot under test, run exactly as an operator runs it: `dsih-bot run --config FILE`
in its own process, with its own data directory.

Two APIs over the same process: the blocking one (start/kill/terminate/wait_log) for plain
fixtures, and an async one (astart/akill/aterminate/wait_ready/quiescent) for async tests,
which must never block the event loop: a blocking wait there freezes the test users' sync
loops, so what the bot sent meanwhile arrives late and counts are taken too early."""
from __future__ import annotations

import asyncio
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
        self.data_dir = Path(data_dir or workdir / "data")
        config = {
            "matrix": {"homeserver": homeserver, "user_id": user_id, "password": BOT_PASSWORD,
                       "device_name": "dsih-bot-under-test", "reconnect_max_seconds": 2,
                       **(extra_matrix or {})},
            # Replicas (tests/runtime/test_replicas_e2e.py) share one data_dir: one device, one crypto store.
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
        self._spawn()
        if wait_ready:
            self.wait_log("ready:", timeout)
        return self

    def _spawn(self) -> None:
        env = dict(os.environ)
        # Run the same code the tests import (installed package in CI, source tree in development).
        env["PYTHONPATH"] = str(Path(bot_pkg.__file__).resolve().parents[1])
        env.update(self.env)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([self.executable(), "run", "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle: str, timeout: float = 30, since_start: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._log_check(needle, since_start):
                return
            time.sleep(0.05)
        raise TimeoutError(f"bot log never showed {needle!r}:\n{self.log()[-3000:]}")

    def _log_check(self, needle: str, since_start: bool) -> bool:
        text = self.log()[self._log_offset if since_start else 0:]
        if needle in text:
            return True
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError(f"bot exited with {self.proc.returncode} before {needle!r}:\n{text[-3000:]}")
        return False

    # -- async API (never blocks the event loop) ------------------------------------------
    async def astart(self, wait_ready: bool = True, timeout: float = 60) -> "BotProcess":
        self._spawn()
        if wait_ready:
            await self.wait_ready(timeout)
        return self

    async def wait_ready(self, timeout: float = 60) -> None:
        await self.await_log("ready:", timeout)

    async def await_log(self, needle: str, timeout: float = 30, since_start: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while not self._log_check(needle, since_start):
            if time.monotonic() > deadline:
                raise TimeoutError(f"bot log never showed {needle!r}:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    async def _await_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.proc.args, timeout)
            await asyncio.sleep(0.02)
        return self.proc.returncode

    async def akill(self) -> None:
        """kill -9 (see kill), awaiting the exit without blocking."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            await self._await_exit(10)

    async def aterminate(self, timeout: float = 15) -> int:
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self._await_exit(timeout)

    async def quiescent(self, handled=(), timeout: float = 60, **kw):
        """Until the bot has nothing left to do: see support.quiesce.wait_quiescent."""
        from support.quiesce import wait_quiescent
        return await wait_quiescent(self, handled=handled, timeout=timeout, **kw)

    # -- blocking API -----------------------------------------------------------------------
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
