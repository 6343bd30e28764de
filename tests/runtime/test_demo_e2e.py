"""`dsih-bot demo` as someone trying it: start it, sign in with the credentials it prints
(matrix-nio here, Element for a person), ask `!ping` in the direct chat it prepared and in a
room of our own, then Ctrl-C: exit code 0, homeserver and bot stopped, temp folder gone.
SIGTERM while it is still starting stops it just as cleanly."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import bot as bot_pkg
from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser

pytestmark = pytest.mark.e2e


class Demo:
    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path / "tmp"          # the demo's TMPDIR: what it leaves behind is visible
        self.tmp.mkdir()
        env = dict(os.environ, TMPDIR=str(self.tmp), PYTHONPATH=str(Path(bot_pkg.__file__).resolve().parents[1]),
                   # An operator's shell: none of this may reach the demo's bot.
                   DSIH_BOT__STORAGE__DATABASE_URL="postgresql+asyncpg://prod:secret@127.0.0.1:1/production",
                   DSIH_BOT__MATRIX__HOMESERVER="https://matrix.example.org")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--language", "en"], cwd=tmp_path,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True).start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"demo never printed {pattern!r}:\n" + "\n".join(self.lines + self.err))

    def stop(self, sig: int, timeout: float = 60) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)


async def test_demo_prints_working_credentials_and_stops_on_ctrl_c(tmp_path):
    demo = Demo(tmp_path)
    try:
        url = demo.wait_line(r"homeserver:\s+(http://127\.0\.0\.1:\d+)$", 240).group(1)
        user = demo.wait_line(r"user:\s+(@\S+)$", 5).group(1)
        password = demo.wait_line(r"password:\s+(\S+)$", 5).group(1)
        bot_id = demo.wait_line(r"bot:\s+(@\S+)$", 5).group(1)
        folder = Path(demo.wait_line(r"\(folder (\S+)\)", 5).group(1))
        assert folder.is_dir() and folder.parent == demo.tmp

        you = await MatrixUser.create(url, user, password, tmp_path / "you")
        try:
            # The direct chat the demo prepared, as a person finds it after signing in.
            waiting = [r for r in you.client.rooms.values() if r.name == "dsih-bot demo"]
            assert len(waiting) == 1 and bot_id in waiting[0].users
            mark = you.mark()
            await you.send_text(waiting[0].room_id, "!ping")
            reply = await you.wait_for_reply(waiting[0].room_id, bot_id, since=mark, timeout=60)
            assert body_of(reply) == "Pong!"
            # A room of our own: invite the printed bot account, it joins and answers.
            room = await you.create_room(invite=[bot_id], is_direct=True)
            await you.wait_joined(room, bot_id, timeout=60)
            mark = you.mark()
            await you.send_text(room, "!ping")
            assert body_of(await you.wait_for_reply(room, bot_id, since=mark, timeout=60)) == "Pong!"
        finally:
            await you.close()

        assert demo.stop(signal.SIGINT) == 0, "\n".join(demo.lines + demo.err)
        assert not folder.exists() and list(demo.tmp.iterdir()) == []
        with pytest.raises(OSError):
            urllib.request.urlopen(url + "/_matrix/client/versions", timeout=2)
        assert "Traceback" not in "\n".join(demo.err)
        assert demo.lines[-1].startswith("stopped;")
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()


def test_demo_stops_cleanly_on_sigterm_while_starting(tmp_path):
    demo = Demo(tmp_path)
    try:
        folder = Path(demo.wait_line(r"\(folder (\S+)\)", 60).group(1))
        demo.wait_line(r"starting the bot", 240)         # homeserver up, bot on its way
        assert demo.stop(signal.SIGTERM) == 0, "\n".join(demo.lines + demo.err)
        assert not folder.exists() and list(demo.tmp.iterdir()) == []
        assert "Traceback" not in "\n".join(demo.err)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
