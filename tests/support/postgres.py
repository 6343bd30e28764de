"""A throw-away PostgreSQL server for tests.

    pg = require_postgres()            # started; fails in CI / skips elsewhere if missing
    url = pg.create_database("bot")    # postgresql+asyncpg://postgres@127.0.0.1:PORT/bot
    ...
    pg.stop()

PostgreSQL refuses to run as root: when we are root, initdb/pg_ctl run as the
``postgres`` system user through ``runuser``. The data directory therefore
lives in its own temp dir (not pytest's tmp_path, whose 0700 root-owned
parents the postgres user cannot traverse) and is removed on stop().
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bindir() -> Path:
    """Directory holding initdb and pg_ctl, or raise PostgresUnavailable."""
    candidates: list[Path] = []
    env = os.environ.get("PG_BINDIR")
    if env:
        candidates.append(Path(env))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass

    def _ver(p: str) -> int:
        m = re.search(r"/postgresql/(\d+)/", p)
        return int(m.group(1)) if m else 0

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_ver, reverse=True)
    ]
    for c in ("initdb", "pg_ctl"):
        w = shutil.which(c)
        if w:
            candidates.append(Path(w).parent)
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: looked in "
        f"{[str(c) for c in candidates] or '(no candidates)'}; install the "
        "'postgresql' package or set PG_BINDIR"
    )


class PostgresServer:
    def __init__(self, bindir: Path | None = None, user: str = "postgres") -> None:
        self.bindir = Path(bindir) if bindir else None
        self.user = user  # database superuser name (initdb -U)
        self.port: int | None = None
        self.basedir: Path | None = None
        self.datadir: Path | None = None
        self.sockdir: Path | None = None
        self.logfile: Path | None = None
        self.last_start_seconds: float | None = None
        self._running = False
        self._as_root = os.geteuid() == 0

    # ---------------------------------------------------------------- helpers
    def _cmd(self, *args: str) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self._cmd(*args), capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed (rc={proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}\n{self.log_tail()}"
            )
        return proc

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    def log_tail(self, lines: int = 30) -> str:
        if self.logfile and self.logfile.exists():
            text = self.logfile.read_text(errors="replace").splitlines()[-lines:]
            return f"--- tail of {self.logfile} ---\n" + "\n".join(text)
        return ""

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def host(self) -> str:
        return "127.0.0.1"

    # -------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 30.0) -> "PostgresServer":
        if self._running:
            return self
        if self.bindir is None:
            self.bindir = find_pg_bindir()
        t0 = time.monotonic()
        self.basedir = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self.datadir = self.basedir / "data"
        self.sockdir = self.basedir / "sock"
        self.logfile = self.basedir / "postgres.log"
        self.sockdir.mkdir()
        if self._as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root but there is no 'postgres' system user to run the server"
                ) from None
            for p in (self.basedir, self.sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        atexit.register(self.stop)

        self._run(
            self._bin("initdb"),
            "-D", str(self.datadir),
            "--auth=trust",
            "-U", self.user,
            "-E", "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        self.port = _free_port()
        self._pg_ctl_start(timeout)
        self._running = True
        self._wait_ready(timeout)
        self.last_start_seconds = time.monotonic() - t0
        return self

    def _pg_ctl_start(self, timeout: float) -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            self._bin("pg_ctl"),
            "-D", str(self.datadir),
            "-l", str(self.logfile),
            "-o", opts,
            "-w", "-t", str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )

    def restart(self, down: float = 0.0, timeout: float = 30.0) -> None:
        """Stop (fast: open connections are cut, as in a crash of the clients' sessions),
        stay down `down` seconds, start again on the same port with the same data."""
        assert self._running and self.datadir is not None
        self._run(self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop", timeout=timeout)
        time.sleep(down)
        self._pg_ctl_start(timeout)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run(
                [self._bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-U", self.user],
                capture_output=True,
                text=True,
            )
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL not ready after {timeout} s\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._running and self.datadir is not None:
            try:
                subprocess.run(
                    self._cmd(self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"),
                    capture_output=True,
                    timeout=30,
                )
            except subprocess.TimeoutExpired:
                subprocess.run(
                    self._cmd(self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"),
                    capture_output=True,
                    timeout=30,
                )
            self._running = False
        if self.basedir is not None:
            shutil.rmtree(self.basedir, ignore_errors=True)
            self.basedir = None
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- databases
    def dsn(self, name: str = "postgres") -> str:
        """Plain libpq/asyncpg DSN (for asyncpg.connect)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{name}"

    def url(self, name: str = "postgres") -> str:
        """SQLAlchemy async URL."""
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its SQLAlchemy asyncpg URL."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"unsafe database name: {name!r}")
        self._psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"unsafe database name: {name!r}")
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _psql(self, sql: str) -> str:
        r = subprocess.run(
            [
                self._bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", self.host, "-p", str(self.port), "-U", self.user,
                "-d", "postgres", "-c", sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")
        return r.stdout


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_postgres() -> PostgresServer:
    """Start a PostgresServer. If PostgreSQL is not installed: pytest.fail in
    CI (env CI=true), pytest.skip otherwise. Any other start-up error is
    raised (a real failure everywhere)."""
    import pytest

    server = PostgresServer()
    try:
        return server.start()
    except PostgresUnavailable as e:
        server.stop()
        msg = f"PostgreSQL unavailable: {e}"
        if _in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
        raise  # unreachable
    except BaseException:
        server.stop()
        raise
