"""The layers stay layers: the import contracts in pyproject.toml ([tool.importlinter])
hold on this tree. A capability importing the runtime or another capability, the kernel
importing a capability, or config importing anything of ours fails here, naming the chain."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is missing: install the test extra (pip install '.[test]')")
    # The source tree's packages are the ones checked (not an installed copy elsewhere).
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and " 0 broken" in out, out[-4000:]
