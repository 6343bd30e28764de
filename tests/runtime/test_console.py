"""Issue 19, the console as a person meets it: its data lives in the user's data directory
(whatever folder it is started from), which it names at start; files the bot sends are
written to a folder it names, and each path is printed; Ctrl-C quits at once; a scheduled
job still running at stop is ended before the database closes (the rare hang after an
answer)."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from icalendar import Calendar

import bot
from bot.scheduler import Scheduler
from support.chat import make_services

SOURCE = str(Path(bot.__file__).resolve().parents[1])


def _env(home: Path, **extra) -> dict:
    # The same code the tests import; no DSIH_BOT__ variables: the console's own default.
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": SOURCE, **extra}
    env.pop("XDG_DATA_HOME", None)
    return env


def _console(home, cwd, *commands, **extra):
    return subprocess.run([sys.executable, "-m", "bot.cli", "console", *commands], capture_output=True, text=True,
                          env=_env(home, **extra), cwd=cwd, timeout=180)


def test_the_console_keeps_its_data_in_one_place_and_saves_the_files_it_sends(tmp_path):
    home, first, second = tmp_path / "home", tmp_path / "one", tmp_path / "two"
    for folder in (home, first, second):
        folder.mkdir()
    made = _console(home, first, "!lang en", '!session new "Agenda" tomorrow 14:00', "!session ics 1")
    assert made.returncode == 0, made.stderr
    try:
        import platformdirs
        data = Path(platformdirs.user_data_dir("dsih-bot", appauthor=False))
    except ImportError:
        data = home / ".local" / "share" / "dsih-bot"
    assert f"data in {data}" in made.stderr, made.stderr  # named at start
    saved = data / "files" / "session-1.ics"
    assert f"[file: session-1.ics (text/calendar, {saved.stat().st_size} bytes) → {saved}]" in made.stdout
    event = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Agenda"
    assert not (first / "data").exists()  # not under the folder it was started from
    # Started from another folder: the same database (session 1 is there).
    again = _console(home, second, "!session 1")
    assert "Agenda" in again.stdout and "There is no session" not in again.stdout, again.stdout
    # A configured data directory and a --files folder are used as given.
    other = _console(home, second, "--files", str(tmp_path / "out"), '!session new "Elders" tomorrow 15:00',
                     "!session ics 1", DSIH_BOT__STORAGE__DATA_DIR=str(tmp_path / "mine"))
    assert f"data in {tmp_path / 'mine'}" in other.stderr and (tmp_path / "out" / "session-1.ics").exists()


def test_ctrl_c_quits_the_console_at_once(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "console"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home), cwd=tmp_path)
    try:
        proc.stdin.write("!ping\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        line = ""
        while "Pong" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "Pong" in line
        time.sleep(0.3)  # now waiting for the next line, stdin still open
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()
    assert code == 130 and "console stopped" in err and "Traceback" not in err, err
    assert took < 5, took


_LOST_CANCELLATION = """
import asyncio, sys
from bot.console import _on_ctrl_c_cancel

async def main():
    _on_ctrl_c_cancel(asyncio.current_task())
    print("ready", flush=True)
    while True:                      # as after Python 3.11's wait_for lost the cancellation
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass

asyncio.run(main())
"""


def test_ctrl_c_leaves_even_when_the_cancellation_is_lost(tmp_path):
    """The console's Ctrl-C does not rely on the cancellation arriving: a main task that
    swallows it (what 3.11's wait_for can do) still ends with the process, at once."""
    proc = subprocess.Popen([sys.executable, "-c", _LOST_CANCELLATION], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130 and "console stopped" in proc.stderr.read()


async def test_a_job_still_running_at_stop_is_ended_before_the_database_closes(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core"])
    sched = Scheduler(services, lambda: None)
    await sched.start()
    started = asyncio.Event()

    async def slow(job_id):
        started.set()
        await asyncio.sleep(3600)  # a job busy with the database when the console stops

    sched._run = slow
    task = asyncio.ensure_future(sched.run("some-job"))
    await asyncio.wait_for(started.wait(), 5)
    t0 = time.monotonic()
    await sched.shutdown(timeout=0.2)
    assert task.done() and time.monotonic() - t0 < 2
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not [t for t in others if "run" in repr(t.get_coro())], others
    await services.db.dispose()
