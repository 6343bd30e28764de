"""What a review report costs to build: the Markdown report and the PNG chart for a
session with N reviewers over the five default criteria, next to a bare matplotlib
figure (one bar, saved as PNG) measured in the same run as the floor.

    python bench/bench_report.py [--reviewers 12] [--runs 30]

The chart is rendered once per reader language when the report goes out (in the job or
command's transaction), so this is the time a submission that completes the set adds."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, row  # noqa: E402

from bot.framework.i18n import Translator  # noqa: E402
from commands.sessions.report import criterion_stats, render_chart, render_report  # noqa: E402
from storage.sessions.models import Review, ReviewSession  # noqa: E402

CRITERIA = ["impact", "feasibility", "scalability", "interoperability", "public_values"]


def bare_png() -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.5, 5), dpi=110)
    FigureCanvasAgg(fig)
    fig.add_subplot().barh([0], [3])
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up (font cache, imports)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reviewers", type=int, default=12)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    now = datetime(2026, 12, 1, 13, tzinfo=timezone.utc)
    s = ReviewSession(id=1, title="Groene daken Zwolle", project="Green roofs", question="Scale up?",
                      starts_at=now, ends_at=now)
    reviews = [Review(session_id=1, reviewer=f"@r{i}:example.org", named=i % 3 == 0, submitted_at=now,
                      scores={k: {"score": 1 + (i + j) % 5, "comment": f"comment {i}-{j} with *markdown*"}
                              for j, k in enumerate(CRITERIA)},
                      strengths=f"strength {i}", concerns=f"concern {i}", recommendations=f"advice {i}")
               for i in range(args.reviewers)]
    t = Translator("nl")
    stats = criterion_stats(reviews, CRITERIA)
    rows = [("bare matplotlib PNG (floor)", timed(bare_png, args.runs)),
            ("report chart PNG", timed(lambda: render_chart(t, s, stats), args.runs)),
            ("report Markdown", timed(lambda: render_report(t, s, reviews, [], CRITERIA, args.reviewers,
                                                            lambda u: u), args.runs))]
    print(f"{args.reviewers} reviewers, {len(CRITERIA)} criteria, {args.runs} runs")
    print(f"{'what':32} {'median ms':>10} {'p95 ms':>8}")
    for name, values in rows:
        values.sort()
        print(f"{name:32} {statistics.median(values):10.1f} {values[int(0.95 * (len(values) - 1))]:8.1f}")
    floor = statistics.median(rows[0][1])
    emit("report", [row(f"review report chart ({args.reviewers} reviewers)", statistics.median(rows[1][1]), "ms median",
                        "bare matplotlib PNG", floor),
                    row("review report Markdown", statistics.median(rows[2][1]), "ms median")])


if __name__ == "__main__":
    main()
