"""Long fuzz runs of the whole dispatch path, outside CI:

    python bench/fuzz_atheris.py -max_total_time=600          # coverage-guided (atheris)
    python bench/fuzz_atheris.py -max_total_time=600 corpus/  # keep the interesting inputs

The target and its input grammar are the CI ones (tests/support/fuzz_target.py): atheris
feeds bytes to hypothesis' `fuzz_one_input`, which turns them into structured Matrix events,
so coverage guidance works on events, not on random JSON. Any failure (an exception, an
ERROR log line, an internal-error reply, executable HTML) stops the run with the event and
the reason, and libFuzzer writes the crashing input to crash-*.

Atheris is optional (`pip install '.[fuzz]'`; wheels exist for CPython 3.11 on x86-64
Linux). Without it the same target runs on random bytes for the same time (no coverage
guidance): still useful, and the command line stays the same."""
from __future__ import annotations

import asyncio
import atexit
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the machine
    atheris = None


def _imports():
    from hypothesis import HealthCheck, given, settings
    from support.fuzz_target import EVENTS, ROOM_IDS, DispatchTarget
    return HealthCheck, given, settings, EVENTS, ROOM_IDS, DispatchTarget


if atheris is not None:
    with atheris.instrument_imports(include=["bot", "commands", "storage"]):
        HealthCheck, given, settings, EVENTS, ROOM_IDS, DispatchTarget = _imports()
else:
    HealthCheck, given, settings, EVENTS, ROOM_IDS, DispatchTarget = _imports()

logging.basicConfig(level=logging.ERROR)  # nio warns about every malformed event: that is the input
loop = asyncio.new_event_loop()
target = loop.run_until_complete(DispatchTarget.create(Path(tempfile.mkdtemp(prefix="dsih-fuzz-")) / "data"))
stats = {"inputs": 0, "with_replies": 0}


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=EVENTS, room_id=ROOM_IDS)
def one_event(source, room_id):
    verdict = loop.run_until_complete(target.feed(source, room_id))
    stats["inputs"] += 1
    stats["with_replies"] += bool(verdict.replies)
    if verdict.failures:
        raise AssertionError(f"{verdict.failures}\nevent: {source!r}\nroom: {room_id}")


def _flag(name: str, default: int) -> int:
    for arg in sys.argv[1:]:
        if arg.startswith(f"-{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _without_atheris() -> None:
    seconds, runs = _flag("max_total_time", 60), _flag("runs", 10**12)
    rng = random.Random(_flag("seed", int.from_bytes(os.urandom(4), "big")))
    print(f"atheris is not installed: random bytes through hypothesis for {seconds}s (no coverage guidance)")
    started = time.monotonic()
    while time.monotonic() - started < seconds and stats["inputs"] < runs:
        one_event.hypothesis.fuzz_one_input(rng.randbytes(rng.randint(16, 4096)))


def main() -> None:
    started = time.monotonic()

    @atexit.register  # libFuzzer ends the process itself when its time is up
    def summary():
        took = time.monotonic() - started
        print(f"\n{stats['inputs']} events in {took:.0f}s ({stats['inputs'] / max(took, 1e-9):.0f}/s), "
              f"{stats['with_replies']} answered")

    if atheris is not None:
        atheris.Setup(sys.argv, one_event.hypothesis.fuzz_one_input)
        atheris.Fuzz()
    else:
        _without_atheris()


if __name__ == "__main__":
    main()
