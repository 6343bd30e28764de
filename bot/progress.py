"""Progress bars for long command-line work (import, refresh, backup, restore, export all).

Shown only when stderr is a terminal: under cron or systemd stderr goes to a log or the
journal, where a bar is noise (and stdout, which carries the result line, stays clean in
both cases). The storage layer knows nothing of terminals: it calls `progress(n, total)`
(n more done; total when known), which `Progress` turns into a tqdm bar or nothing."""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def attached(stream: TextIO | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, AttributeError, ValueError):
        return 0


class Progress:
    """`with Progress("backup", unit="rows") as p: await backup(db, path, progress=p)`."""

    def __init__(self, desc: str, *, unit: str = "it", total: int | None = None, stream: TextIO | None = None):
        stream = sys.stderr if stream is None else stream
        self.enabled = attached(stream)
        # A terminal that reports no size (a bare pty, some `ssh -T`/`script` set-ups) would get a
        # zero-size bar (tqdm hides it): assume 80x24 there, follow resizes everywhere else.
        sized = self.enabled and _columns(stream) > 0
        self._bar = tqdm(desc=desc, unit=unit, total=total, file=stream, disable=not self.enabled, leave=True,
                         dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 24,
                         mininterval=0.2)

    def __call__(self, n: int = 1, total: int | None = None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()
        if n:
            self._bar.update(n)

    def __enter__(self) -> "Progress":
        # Log lines written meanwhile go above the bar instead of through it.
        self._logs = logging_redirect_tqdm(tqdm_class=tqdm) if self.enabled else nullcontext()
        self._logs.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()
        self._logs.__exit__(*exc)
