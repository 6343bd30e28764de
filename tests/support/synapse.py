"""A real Synapse homeserver for tests, started in a temporary directory.

Synchronous API (usable from plain pytest fixtures); the HTTP helpers use
only the standard library.

    server = SynapseServer(tmp_path / "synapse")
    server.start()
    alice = server.register("alice", "pw")        # -> "@alice:localhost"
    ...
    server.restart()                               # same port, same database
    server.stop()
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

SERVER_NAME = "localhost"

# Effectively unlimited.
_HIGH = {"per_second": 100000, "burst_count": 100000}

# Rate limiters the harness itself needs to stay out of the way even when a
# test asks for real rate limits (logins/registrations happen in bulk).
_HARNESS_LIMITS: dict[str, Any] = {
    "rc_login": {"address": _HIGH, "account": _HIGH, "failed_attempts": _HIGH},
    "rc_registration": _HIGH,
}

_TEST_LIMITS: dict[str, Any] = {
    "rc_message": _HIGH,
    "rc_joins": {"local": _HIGH, "remote": _HIGH},
    "rc_joins_per_room": _HIGH,
    "rc_invites": {"per_room": _HIGH, "per_user": _HIGH, "per_issuer": _HIGH},
    "rc_room_creation": _HIGH,
    "rc_key_requests": _HIGH,
    "rc_3pid_validation": _HIGH,
    "rc_admin_redaction": _HIGH,
    # Not in the brief's list, but cheap insurance for bots that set
    # profiles / upload media in bulk tests.
    "rc_media_create": _HIGH,
    "rc_profile": _HIGH,
    "rc_user_directory": _HIGH,
    "rc_delayed_event_mgmt": _HIGH,
    "rc_reports": _HIGH,
    "rc_federation": {
        "window_size": 1000,
        "sleep_limit": 100000,
        "sleep_delay": 1,
        "reject_limit": 100000,
        "concurrent": 1000,
    },
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SynapseError(RuntimeError):
    pass


class SynapseServer:
    def __init__(self, workdir: Path, real_rate_limits: bool = False) -> None:
        self.workdir = Path(workdir)
        self.real_rate_limits = real_rate_limits
        self.port: int | None = None
        self.registration_shared_secret = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"
        self.stdout_path = self.workdir / "synapse.stdout.log"
        self.last_start_seconds: float | None = None
        self._stdout_file = None

    # ------------------------------------------------------------------ props
    @property
    def url(self) -> str:
        if self.port is None:
            raise SynapseError("SynapseServer has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_name(self) -> str:
        return SERVER_NAME

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def mxid(self, username: str) -> str:
        return f"@{username}:{SERVER_NAME}"

    # ----------------------------------------------------------------- config
    def _write_config(self) -> None:
        wd = self.workdir
        wd.mkdir(parents=True, exist_ok=True)
        (wd / "media_store").mkdir(exist_ok=True)

        log_config = {
            "version": 1,
            "formatters": {
                "precise": {
                    "format": "%(asctime)s - %(name)s - %(lineno)d - "
                    "%(levelname)s - %(request)s - %(message)s"
                }
            },
            "filters": {
                "context": {
                    "()": "synapse.logging.context.LoggingContextFilter",
                    "request": "",
                }
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filters": ["context"],
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                },
            },
            "loggers": {
                "synapse.storage.SQL": {"level": "INFO"},
                "twisted": {"level": "WARNING"},
            },
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (wd / "log.config").write_text(yaml.safe_dump(log_config))

        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "public_baseurl": self.url + "/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(wd / "homeserver.db")},
            },
            "log_config": str(wd / "log.config"),
            "media_store_path": str(wd / "media_store"),
            "signing_key_path": str(wd / "localhost.signing.key"),
            "registration_shared_secret": self.registration_shared_secret,
            "macaroon_secret_key": "macaroon-" + self.registration_shared_secret,
            "form_secret": "form-" + self.registration_shared_secret,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,
            "enable_registration": False,
            "enable_metrics": False,
            "url_preview_enabled": False,
        }
        # real_rate_limits=True: only rc_message keeps Synapse's defaults
        # (0.2/s, burst 10); everything the harness itself needs (logins,
        # registrations, room creation, joins, invites) stays effectively unlimited.
        config.update(_HARNESS_LIMITS)
        config.update(_TEST_LIMITS)
        if self.real_rate_limits:
            del config["rc_message"]
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    # -------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 30.0) -> None:
        if self.is_running:
            raise SynapseError("Synapse is already running")
        if self.port is None:
            self.port = free_port()
        self._write_config()
        self._stdout_file = open(self.stdout_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group
        )
        # Never leave an orphaned homeserver behind (it runs in its own session).
        atexit.register(self.kill)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        self.last_start_seconds = time.monotonic() - t0

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = self.url + "/_matrix/client/versions"
        while True:
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise SynapseError(
                    f"Synapse exited during start-up (rc={rc}).\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SynapseError(
                    f"Synapse did not answer {url} within {timeout:.0f} s.\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def _close_stdout(self) -> None:
        if self._stdout_file is not None:
            self._stdout_file.close()
            self._stdout_file = None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL. Safe to call when not running."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        self._close_stdout()
        atexit.unregister(self.kill)

    def kill(self) -> None:
        """SIGKILL at once (a crash, from the bot's point of view)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None
        self._close_stdout()
        atexit.unregister(self.kill)

    def restart(self, timeout: float = 30.0) -> None:
        """Stop, then start again on the same port with the same database."""
        self.stop()
        # Twisted sets SO_REUSEADDR, but retry briefly in case the port
        # is not yet released.
        deadline = time.monotonic() + 5
        while True:
            try:
                self.start(timeout)
                return
            except SynapseError:
                if time.monotonic() > deadline or "ListenerException" not in self.log_tail():
                    raise
                time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for p in (self.stdout_path, self.log_path):
            if p.exists():
                text = p.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- tail of {p} ---\n" + "\n".join(text))
        return "\n".join(out) or "(no log output)"

    def __enter__(self) -> "SynapseServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------- HTTP
    def _request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        access_token: str | None = None,
        timeout: float = 10.0,
    ) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if access_token:
            req.add_header("Authorization", f"Bearer {access_token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise SynapseError(f"{method} {path} -> HTTP {e.code}: {detail}") from None

    def register(self, username: str, password: str, admin: bool = False) -> str:
        """Shared-secret registration; returns the MXID."""
        path = "/_synapse/admin/v1/register"
        nonce = self._request("GET", path)["nonce"]
        mac = hmac.new(self.registration_shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(nonce.encode())
        mac.update(b"\x00")
        mac.update(username.encode())
        mac.update(b"\x00")
        mac.update(password.encode())
        mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        resp = self._request(
            "POST",
            path,
            {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return resp["user_id"]

    def login_token(
        self, username: str, password: str, device_name: str = "test-login"
    ) -> tuple[str, str, str]:
        """Password login; returns (user_id, access_token, device_id)."""
        resp = self._request(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": username},
                "password": password,
                "initial_device_display_name": device_name,
            },
        )
        return resp["user_id"], resp["access_token"], resp["device_id"]

    def api(
        self, method: str, path: str, body: dict | None = None, access_token: str | None = None
    ) -> dict:
        """Raw client-server/admin API call (sync); raises SynapseError on HTTP errors."""
        return self._request(method, path, body, access_token)
