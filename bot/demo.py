"""`dsih-bot demo`: the bot for real in one command, nothing to configure.

A throw-away Synapse homeserver (the optional `demo` extra: `pip install 'dsih-bot[demo]'`)
on 127.0.0.1 at a free port, in a temporary folder; an account for the bot and one for you;
the bot (`dsih-bot run`, bundled sample data, you are its admin); a direct chat with the bot
already waiting. It prints the homeserver URL and your credentials for any Matrix client, and
on Ctrl-C (SIGINT) or SIGTERM stops the bot, then the homeserver, and removes the folder.

Both children run in their own session, so a Ctrl-C reaches only us and they stop in order
(the bot first: no reconnect noise); on Linux they also get SIGTERM if we are killed."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

import yaml

SERVER_NAME = "localhost"
BOT_NAME = "dsih"
START_TIMEOUT = 180.0     # Synapse's first start (schema set-up) on a slow laptop


class DemoError(RuntimeError):
    """Worded for the person trying the demo."""


class _Stop(Exception):
    """SIGTERM, handled like Ctrl-C."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when the demo process dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(argv: list[str], log: Path, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def _stop(proc: subprocess.Popen | None, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Homeserver:
    """A minimal single-user-machine Synapse: SQLite, no federation, no public registration."""

    def __init__(self, workdir: Path, port: int):
        self.workdir = workdir
        self.port = port
        self.secret = secrets.token_hex(16)
        self.log = workdir / "synapse.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        wd = self.workdir
        high = {"per_second": 1000, "burst_count": 1000}
        log_config = {"version": 1, "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
                      "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                                            "filename": str(self.log), "encoding": "utf8"}},
                      "root": {"level": "WARNING", "handlers": ["file"]}, "disable_existing_loggers": False}
        (wd / "log.config").write_text(yaml.safe_dump(log_config))
        return {
            "server_name": SERVER_NAME, "public_baseurl": self.url + "/",
            "listeners": [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                           "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
            "database": {"name": "sqlite3", "args": {"database": str(wd / "homeserver.db")}},
            "log_config": str(wd / "log.config"), "media_store_path": str(wd / "media"),
            "signing_key_path": str(wd / "signing.key"), "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16), "form_secret": secrets.token_hex(16),
            "report_stats": False, "trusted_key_servers": [], "suppress_key_server_warning": True,
            "federation_domain_whitelist": [], "presence": {"enabled": False}, "enable_registration": False,
            "url_preview_enabled": False, "enable_metrics": False,
            # One person trying things: the bot's replies and your logins are never throttled.
            "rc_message": high, "rc_login": {"address": high, "account": high, "failed_attempts": high},
            "rc_registration": high, "rc_joins": {"local": high, "remote": high}, "rc_room_creation": high,
            "rc_invites": {"per_room": high, "per_user": high, "per_issuer": high},
        }

    def start(self, deadline: float) -> None:
        self.workdir.mkdir(parents=True)
        (self.workdir / "media").mkdir()
        config = self.workdir / "homeserver.yaml"
        config.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        self.proc = _spawn([sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
                           self.workdir / "synapse.stdout.log", self.workdir)
        while True:
            if self.proc.poll() is not None:
                raise DemoError(f"the homeserver stopped during start-up (exit code {self.proc.returncode}):\n"
                                + _tail(self.workdir / "synapse.stdout.log") + "\n" + _tail(self.log))
            try:
                with urllib.request.urlopen(self.url + "/_matrix/client/versions", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"the homeserver did not answer within {START_TIMEOUT:.0f} s:\n{_tail(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        _stop(self.proc, 15)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise DemoError(f"{method} {path}: HTTP {exc.code} {exc.read().decode(errors='replace')[:300]}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DemoError(f"{method} {path}: the homeserver did not answer ({exc})") from None

    def register(self, username: str, password: str) -> str:
        """Shared-secret registration (the admin API Synapse offers for exactly this)."""
        path = "/_synapse/admin/v1/register"
        nonce = self.request("GET", path)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, username, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"notadmin")
        return self.request("POST", path, {"nonce": nonce, "username": username, "password": password,
                                           "admin": False, "mac": mac.hexdigest()})["user_id"]

    def login(self, username: str, password: str) -> str:
        return self.request("POST", "/_matrix/client/v3/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": username},
            "password": password, "initial_device_display_name": "dsih-bot demo set-up"})["access_token"]


def _bot_config(workdir: Path, homeserver: str, bot_id: str, password: str, you: str, language: str) -> Path:
    config = {
        "matrix": {"homeserver": homeserver, "user_id": bot_id, "password": password, "device_name": "dsih-bot demo",
                   "reconnect_max_seconds": 5},
        "storage": {"data_dir": str(workdir / "data"), "load_sample_data": True},
        "bot": {"language": language, "admins": [you], "allowed_users": [f"@*:{SERVER_NAME}"]},
        "logging": {"level": "INFO"},
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def _wait_ready(proc: subprocess.Popen, log: Path, deadline: float) -> None:
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "ready:" in text:
            return
        if proc.poll() is not None:
            raise DemoError(f"the bot stopped during start-up (exit code {proc.returncode}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise DemoError(f"the bot was not ready within {START_TIMEOUT:.0f} s:\n{_tail(log)}")
        time.sleep(0.1)


def _on_sigterm(signum, frame) -> None:
    raise _Stop()


def run_demo(*, port: int | None = None, username: str = "demo", language: str = "nl",
             out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        import synapse  # noqa: F401  (only to say what is missing before anything starts)
    except ImportError:
        print("the demo needs a local Matrix homeserver (Synapse): pip install 'dsih-bot[demo]'", file=sys.stderr)
        return 1

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C must stop the demo even when we were started with SIGINT ignored (`&` in a script).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="dsih-demo-"))
    homeserver = Homeserver(workdir / "synapse", port or free_port())
    bot: subprocess.Popen | None = None
    code = 0
    try:
        deadline = time.monotonic() + START_TIMEOUT
        say(f"starting a throw-away homeserver on {homeserver.url} (folder {workdir}) …")
        homeserver.start(deadline)
        bot_password, your_password = secrets.token_urlsafe(18), secrets.token_urlsafe(12)
        bot_id = homeserver.register(BOT_NAME, bot_password)
        you = homeserver.register(username, your_password)
        (workdir / "bot").mkdir()
        config = _bot_config(workdir / "bot", homeserver.url, bot_id, bot_password, you, language)
        say("starting the bot with the bundled funding, labs and knowledge data …")
        # Only the demo's own config: an operator's DSIH_BOT__* variables (a production
        # database URL, a real homeserver's password) must not reach the throw-away bot.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DSIH_BOT__")}
        # The same code as this process (a source tree in development, the installed package otherwise).
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), *filter(None, [env.get("PYTHONPATH")])])
        bot_log = workdir / "bot" / "bot.log"
        bot = _spawn([sys.executable, "-m", "bot.cli", "run", "--config", str(config)], bot_log, workdir / "bot", env)
        _wait_ready(bot, bot_log, deadline)
        # A direct chat with the bot is waiting when you sign in.
        token = homeserver.login(username, your_password)
        homeserver.request("POST", "/_matrix/client/v3/createRoom", {
            "preset": "trusted_private_chat", "is_direct": True, "invite": [bot_id], "name": "dsih-bot demo"},
            token=token)
        homeserver.request("POST", "/_matrix/client/v3/logout", {}, token=token)
        say()
        say("dsih-bot demo is running. Sign in with any Matrix client on this machine (Element:")
        say("\"Sign in\" → edit the homeserver → paste the URL below):")
        say()
        say(f"  homeserver:  {homeserver.url}")
        say(f"  user:        {you}")
        say(f"  password:    {your_password}")
        say(f"  bot:         {bot_id}")
        say()
        say(f"A direct chat \"dsih-bot demo\" with {bot_id} is waiting. You are the bot's admin. Try")
        say("!help, !hulp, !funding klimaatadaptatie, !labs --near Zwolle or just ask:")
        say("\"welke subsidies sluiten binnenkort?\"")
        say()
        say("Everything is thrown away when you stop the demo: press Ctrl-C.")
        while True:
            for name, proc, log in (("bot", bot, bot_log), ("homeserver", homeserver.proc, homeserver.log)):
                if proc is not None and proc.poll() is not None:
                    raise DemoError(f"the {name} stopped (exit code {proc.returncode}):\n{_tail(log)}")
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        say()
        say("stopping the demo …")
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C must not leave a homeserver behind: finish the (bounded) clean-up first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            _stop(bot, 20)
            homeserver.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous)
    if code == 0:
        say("stopped; the homeserver, the bot and their data are gone.")
    return code
