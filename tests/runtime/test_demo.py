"""`dsih-bot demo` without the demo extra says what to install, starts nothing and leaves
no temp folder behind (the full demo runs in tests/runtime/test_demo_e2e.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bot as bot_pkg


def test_demo_without_synapse_says_which_extra_to_install(tmp_path):
    shim = tmp_path / "shim" / "synapse"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("No module named synapse")\n')
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"),
               PYTHONPATH=os.pathsep.join([str(tmp_path / "shim"), str(Path(bot_pkg.__file__).resolve().parents[1])]))
    run = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 1
    assert "pip install 'dsih-bot[demo]'" in run.stderr and "Traceback" not in run.stderr
    assert list((tmp_path / "tmp").iterdir()) == []
