"""What every benchmark shares: percentiles, the process's memory, and one machine-readable
line (`BENCH-RESULT {json}`) that bench/run collects into bench/RESULTS.md."""
from __future__ import annotations

import json
from pathlib import Path

PREFIX = "BENCH-RESULT "


def pct(values, p: float) -> float:
    """p in 0..100; nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))]


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def row(measure: str, value: float, unit: str, baseline: str | None = None, baseline_value: float | None = None,
        note: str = "") -> dict:
    ratio = value / baseline_value if baseline_value else None
    return {"measure": measure, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value, "ratio": ratio, "note": note}


def emit(bench: str, rows: list[dict], **extra) -> None:
    print(PREFIX + json.dumps({"bench": bench, "rows": rows, **extra}), flush=True)
