"""The fresh funding relevance set of issue 18 (tests/data/relevance/funding_fresh.yaml),
written and committed before anyone tuned the search for that issue: 40 queries, half Dutch,
half English, each with the records a civil servant wants in the top 3.

- `test_fresh_set_hit_rate`: the top-3 hit rate (a hit = at least one expected record among
  the first three results, as in test_funding_relevance.py), printed in the run's figures,
  per language too. It must not fall below BASELINE_HITS, the figure measured when the set
  was committed (a regression floor); the issue's goal is GOAL (95 %), reported next to it.
- `test_fresh_set_open_before_closed`: on the queries marked `open_first`, how many show an
  open/forthcoming/continuous record after a closed one (all pages). Reported; must not get
  worse than BASELINE_OPEN_FIRST_VIOLATIONS.
- `test_fresh_set_open_before_closed_strict`: the assertion issue 18 asks for (no violation at
  all, every open_first query showing both); it holds since the relevance bands let an open
  broad scheme join a closed record it is comparable to (storage/search/ranking.py).
The statuses the set names are checked against the dates (storage.funding.records.status_of) so
that a data update cannot silently turn the open_first cases around."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from storage.funding.records import status_of
from storage.funding.models import FundingInstrument
from support.funding_env import NOW, FundingChat, funding_services, all_result_ids, result_ids

SET = Path(__file__).resolve().parents[1] / "data" / "relevance" / "funding_fresh.yaml"
GOAL = 0.95                        # issue 18: every set at >= 95 % top-3 hit rate
BASELINE_HITS = 25                 # 25/40 = 62 % (nl 11/20, en 14/20) at 411eed5 + harness, before tuning
BASELINE_OPEN_FIRST_VIOLATIONS = 4  # 4 of 13 show a closed record first, 4 are right, 5 do not show both (same commit)
# Floors raised as the work measured better (h3/search3): 36/40 and 3 violations on main at 522131a;
# 38/40 (nl 19/20, en 19/20) and 0 violations (13/13 right) after the search fallback and the open tiers;
# 40/40 after every-word records reach band 0 and several named topics stop filtering on the first.
BASELINE_HITS = 40
BASELINE_OPEN_FIRST_VIOLATIONS = 0
OPEN = ("open", "forthcoming", "continuous")
CLOSED = ("closed", "invitation_only")   # closed to newcomers (as test_funding_relevance.py counts them)


def load_set() -> list[dict]:
    data = yaml.safe_load(SET.read_text(encoding="utf-8"))
    return data["cases"]


CASES = load_set()


def test_set_shape():
    """40 cases, half Dutch half English, unique ids, every named record exists in the data,
    and every kind the issue names is present."""
    assert len(CASES) == 40
    assert sum(c["lang"] == "nl" for c in CASES) == 20
    assert sum(c["lang"] == "en" for c in CASES) == 20
    assert len({c["id"] for c in CASES}) == 40
    kinds = {k for c in CASES for k in c["kinds"]}
    assert {"words", "question", "sentence", "mixed", "compound", "typo"} <= kinds
    assert sum("open_first" in c for c in CASES) >= 3


@pytest.fixture
async def env(tmp_path):
    services = await funding_services(tmp_path, modules=None)   # every capability, as deployed
    try:
        async with services.db.session() as s:
            rows = {r.id: r for r in (await s.scalars(select(FundingInstrument))).all()}
        yield FundingChat(services), rows
    finally:
        await services.db.dispose()


async def test_fresh_set_names_existing_records_with_the_right_status(env):
    _, rows = env
    for case in CASES:
        named = list(case["expected"]) + [i for part in case.get("open_first", {}).values() for i in part]
        assert set(named) <= set(rows), (case["id"], set(named) - set(rows))
        of = case.get("open_first")
        if of:
            assert of["open"] and of["closed"], case["id"]
            for i in of["open"]:
                assert status_of(rows[i], NOW) in OPEN, (case["id"], i, status_of(rows[i], NOW))
            for i in of["closed"]:
                assert status_of(rows[i], NOW) in CLOSED, (case["id"], i, status_of(rows[i], NOW))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]


async def test_fresh_set_hit_rate(env, report_figure):
    chat, rows = env
    hits = {"nl": [0, 0], "en": [0, 0]}
    misses = []
    for case in CASES:
        text = await chat.text(case["query"])
        top = result_ids(text)[:3]
        ok = bool(set(case["expected"]) & set(top))
        hits[case["lang"]][1] += 1
        if ok:
            hits[case["lang"]][0] += 1
        else:
            misses.append((case, top, text))
    total = sum(h for h, _ in hits.values())
    rate = total / len(CASES)
    per_lang = ", ".join(f"{lang} {h}/{n}" for lang, (h, n) in hits.items())
    report_figure(f"funding relevance, fresh set (issue 18, written before tuning): {total}/{len(CASES)} "
                  f"with an expected record in the top 3 = {rate:.0%} ({per_lang}); "
                  f"floor {BASELINE_HITS}/{len(CASES)}, goal {GOAL:.0%}")
    for case, top, text in misses:
        shown = "; ".join(f"{i} ({(rows[i].title or '')[:40]})" for i in top if i in rows) or _first_line(text)
        print(f"  miss {case['id']} [{case['lang']}, {'/'.join(case['kinds'])}] {case['query']!r}\n"
              f"       expected one of {case['expected']}\n       top 3: {shown}")
    assert total >= BASELINE_HITS, [(c["id"], c["query"], top) for c, top, _ in misses]


async def _open_first_outcomes(chat) -> list[tuple[dict, list[str], bool | None]]:
    """Per open_first case: the listed records in the order shown, and True (every open one
    before every closed one), False (a closed one before an open one) or None (not both shown)."""
    out = []
    for case in CASES:
        of = case.get("open_first")
        if not of:
            continue
        ids = await all_result_ids(chat, case["query"])
        shown = [i for i in ids if i in of["open"] or i in of["closed"]]
        opens = [n for n, i in enumerate(shown) if i in of["open"]]
        closeds = [n for n, i in enumerate(shown) if i in of["closed"]]
        verdict = None if not (opens and closeds) else max(opens) < min(closeds)
        out.append((case, shown, verdict))
    return out


async def test_fresh_set_open_before_closed(env, report_figure):
    chat, _ = env
    outcomes = await _open_first_outcomes(chat)
    good = sum(v is True for _, _, v in outcomes)
    bad = [(c["id"], c["query"], shown) for c, shown, v in outcomes if v is False]
    absent = [(c["id"], c["query"], shown) for c, shown, v in outcomes if v is None]
    report_figure(f"funding open-before-closed, fresh set: {good}/{len(outcomes)} open_first queries show every "
                  f"open record before every closed one; {len(bad)} do not; {len(absent)} do not show both "
                  f"(floor: at most {BASELINE_OPEN_FIRST_VIOLATIONS} violations)")
    for row in bad:
        print("  closed before open:", row)
    for row in absent:
        print("  not both shown:", row)
    assert len(outcomes) >= 3
    assert len(bad) <= BASELINE_OPEN_FIRST_VIOLATIONS, bad


async def test_fresh_set_open_before_closed_strict(env):
    chat, _ = env
    outcomes = await _open_first_outcomes(chat)
    assert [(c["id"], shown) for c, shown, v in outcomes if v is not True] == []
