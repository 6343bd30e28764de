"""Long CLI work (import, refresh, backup, restore, export all, import all) shows a progress
bar when stderr is a terminal (a real pseudo-terminal here) and nothing of the kind when it is
not (cron, systemd: a file or the journal); the result line on stdout is the same either way."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import yaml

import bot as bot_pkg
from storage.funding.records import DATA_FILE
from bot.cli import main
from bot.progress import Progress, attached
from support.eu_ft_server import PortalStub

SRC = Path(bot_pkg.__file__).resolve().parents[1]
FUNDING = DATA_FILE


def _configs(tmp_path: Path, portal_url: str) -> tuple[Path, Path, Path]:
    out = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "storage": {"data_dir": str(tmp_path / name), "load_sample_data": False},
            "bot": {"pretend_now": "2026-11-25T03:00:00+00:00"},
            "funding": {"eu_ft_url": portal_url, "eu_ft_page_size": 3}}))
        out.append(path)
    return tuple(out)


def _steps(tmp_path: Path, a: Path, b: Path, c: Path) -> list[tuple[list[str], str, str]]:
    """(argv, what the bar says, what stdout says) for each long piece of work."""
    backup = tmp_path / "backup.jsonl.gz"
    return [
        (["import", "funding", str(FUNDING), "-c", str(a)], "import funding", "imported 41 funding instruments"),
        (["refresh", "funding", "-c", str(a)], "refresh funding", "eu-ft: "),
        (["backup", str(backup), "-c", str(a)], "backup", "backup written to"),
        (["restore", str(backup), "-c", str(b)], "restore", "restored "),
        (["export", "all", str(tmp_path / "dump"), "-c", str(a)], "export all", "exported "),
        (["import", "all", str(tmp_path / "dump"), "-c", str(c)], "import all", " updated"),
    ]


def _in_pty(argv: list[str], cwd: Path) -> tuple[str, str, int]:
    """Run `dsih-bot ARGV` with stderr on a pseudo-terminal; returns (stdout, terminal, code).
    The pty reports no size (0 columns), which the bar must survive too."""
    master, slave = os.openpty()
    env = dict(os.environ, PYTHONPATH=str(SRC))
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:   # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read().decode()
    return out, b"".join(chunks).decode(errors="replace"), proc.wait(60)


def test_on_a_terminal_every_long_command_shows_progress(tmp_path):
    with PortalStub() as stub:
        a, b, c = _configs(tmp_path, stub.url)
        for argv, bar, result in _steps(tmp_path, a, b, c):
            out, terminal, code = _in_pty(argv, tmp_path)
            assert code == 0, terminal
            assert result in out, (argv, out)
            assert bar in terminal and "100%|" in terminal, (argv, terminal)   # tqdm's bar, finished
            assert "\r" in terminal                                            # redrawn in place


def test_without_a_terminal_there_is_no_progress_bar(tmp_path, capsys):
    """As under cron or systemd (stderr is a file or the journal): only the result lines."""
    with PortalStub() as stub:
        a, b, c = _configs(tmp_path, stub.url)
        for argv, bar, result in _steps(tmp_path, a, b, c):
            assert main(argv) == 0
            out, err = capsys.readouterr()
            assert result in out
            assert "%|" not in err and "\r" not in err and f"{bar}:" not in err, (argv, err)


def test_progress_follows_the_stream_it_draws_on():
    quiet = io.StringIO()
    assert not attached(quiet)
    with Progress("work", total=3, stream=quiet) as p:
        p(0, 3)
        p(3)
    assert quiet.getvalue() == ""

    class Closed(io.StringIO):
        def isatty(self):
            raise ValueError("I/O operation on closed file")
    assert not attached(Closed())
