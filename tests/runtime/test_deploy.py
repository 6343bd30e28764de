"""The deployment recipes in deploy/ work as written, without a Docker engine or systemd
running: the compose file and the units parse; every command they run (service commands,
health checks, ExecStart lines) is an existing `dsih-bot` subcommand with valid options and a
`--config`; every DSIH_BOT__ variable and the compose config example are valid settings."""
from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import parser
from config.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
UNITS = DEPLOY / "systemd"
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": ""}


def _cli(argv: list[str]):
    """Parse `dsih-bot ARGV` as the real CLI does; a wrong subcommand or option fails the test."""
    assert argv and Path(argv[0]).name == "dsih-bot", argv
    try:
        return parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"not a valid dsih-bot command line: {' '.join(argv)}")


def _dockerfile_exec(instruction: str) -> list[str]:
    m = re.search(rf"^{instruction} (\[.*\])\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    return json.loads(m.group(1)) if m else []


def _bot_services() -> dict[str, dict]:
    return {name: s for name, s in COMPOSE["services"].items() if "build" in s or "dsih-bot" in s.get("image", "")}


def _substituted(value: str) -> str:
    """Compose's ${VAR}, ${VAR:?message} and ${VAR:-default} with a stand-in value."""
    return re.sub(r"\$\{(\w+)(?::?[?-][^}]*)?\}", lambda m: f"x{m.group(1).lower()}", value)


# ---------------------------------------------------------------------------- compose
def test_compose_has_the_three_parts_with_volumes_and_health_checks():
    services = COMPOSE["services"]
    assert {"db", "synapse", "bot"} <= set(services)
    assert "postgres" in services["db"]["image"] and "synapse" in services["synapse"]["image"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in COMPOSE["volumes"], f"{name}: volume {source} is not declared"
        for dependency in service.get("depends_on", {}):
            assert dependency in services
        if "tools" not in service.get("profiles", []):
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    build = services["bot"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"


def test_every_bot_command_in_compose_is_an_existing_subcommand_with_a_config():
    services = _bot_services()
    assert {"bot", "refresh"} <= set(services)
    seen = set()
    for name, service in services.items():
        argv = (service.get("entrypoint") or _dockerfile_exec("ENTRYPOINT")) + (
            service.get("command") or _dockerfile_exec("CMD"))
        args = _cli(argv)
        seen.add(args.cmd)
        config = args.config
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert config in mounts and (DEPLOY / mounts[config]).is_file(), f"{name}: {config} is not mounted"
        check = service.get("healthcheck", {}).get("test")
        if check:
            assert check[0] == "CMD"
            assert _cli(check[1:]).cmd == "health" and "--config" in check
    assert seen == {"run", "refresh"}
    # The image's own health check too.
    m = re.search(r"^HEALTHCHECK [^\[]*CMD (\[[^\]]*\])", (ROOT / "Dockerfile").read_text(), re.M)
    assert m and _cli(json.loads(m.group(1))).cmd == "health"


def test_compose_environment_names_existing_settings_and_env_example_has_every_variable():
    used = set()
    for name, service in _bot_services().items():
        for key, value in service["environment"].items():
            used |= set(re.findall(r"\$\{(\w+)", str(value)))
            if not key.startswith("DSIH_BOT__"):
                continue
            section, field = key.removeprefix("DSIH_BOT__").lower().split("__")
            assert section in Settings.model_fields, f"{name}: {key}: no section {section}"
            assert field in Settings.model_fields[section].annotation.model_fields, f"{name}: {key}: no key {field}"
    for service in COMPOSE["services"].values():
        for value in (service.get("environment") or {}).values():
            used |= set(re.findall(r"\$\{(\w+)", str(value)))
    example = {line.split("=")[0] for line in (DEPLOY / "env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert used == example


def test_compose_config_example_is_valid_with_the_compose_environment(monkeypatch):
    for key, value in COMPOSE["services"]["bot"]["environment"].items():
        monkeypatch.setenv(key, _substituted(str(value)))
    settings = load_settings(DEPLOY / "config.compose.yaml")
    settings.require_matrix()      # homeserver, user and the password from the environment
    assert str(settings.matrix.homeserver).startswith("http://synapse:8008")
    assert settings.storage.effective_database_url.startswith("postgresql+asyncpg://dsih:")
    assert "@db:5432/dsih" in settings.storage.effective_database_url
    assert str(settings.storage.data_dir) == "/data"


# ---------------------------------------------------------------------------- systemd
def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)   # systemd repeats some keys
    unit.optionxform = str
    unit.read_string((UNITS / name).read_text())
    return unit


@pytest.mark.parametrize("name", ["dsih-bot.service", "dsih-bot-refresh.service"])
def test_service_units_run_existing_subcommands_hardened(name):
    unit = _unit(name)
    service = unit["Service"]
    assert service["User"] and service["User"] != "root"
    for key in ("ExecStartPre", "ExecStart"):
        if key in service:
            argv = shlex.split(service[key])
            # systemd's "-" prefix: a failure of this line does not stop the ones after it.
            argv[0] = argv[0].removeprefix("-")
            assert argv[0].startswith("/") and "--config" in argv
            _cli(argv)
    expected = {"dsih-bot.service": "run", "dsih-bot-refresh.service": "refresh"}[name]
    assert _cli(shlex.split(service["ExecStart"])).cmd == expected
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}={service.get(key)!r}, expected {value!r}"
    assert service["Environment"] and "StateDirectory" in service
    if name == "dsih-bot.service":
        assert service["Restart"] == "on-failure" and unit["Install"]["WantedBy"] == "multi-user.target"
    else:
        assert service["Type"] == "oneshot"


def test_refresh_timer_starts_the_refresh_service_nightly():
    timer = _unit("dsih-bot-refresh.timer")
    assert (UNITS / timer["Timer"]["Unit"]).is_file()
    assert timer["Timer"]["Persistent"] == "true" and timer["Install"]["WantedBy"] == "timers.target"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d", timer["Timer"]["OnCalendar"])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_itself_accepts_the_units(tmp_path):
    """systemd's own checker: unknown or misspelt directives, bad values, a missing unit.
    The venv path is pointed at this test's dsih-bot so 'is not executable' cannot hide others."""
    exe = Path(sys.executable).parent / "dsih-bot"
    if not exe.exists():
        exe = Path(shutil.which("dsih-bot") or sys.executable)
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/dsih-bot/.venv/bin/dsih-bot", str(exe)))
    run = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not (run.stdout + run.stderr).strip(), run.stdout + run.stderr
    calendar = subprocess.run(["systemd-analyze", "calendar", _unit("dsih-bot-refresh.timer")["Timer"]["OnCalendar"]],
                              capture_output=True, text=True, timeout=30)
    assert calendar.returncode == 0 and "Next elapse" in calendar.stdout


def test_readme_points_to_the_unit_files_instead_of_copying_them():
    readme = (ROOT / "README.md").read_text()
    assert "deploy/systemd/dsih-bot-refresh.timer" in readme and "deploy/docker-compose.yml" in readme
    assert "[Timer]" not in readme and "[Service]" not in readme
