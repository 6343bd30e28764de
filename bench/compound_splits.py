"""How the Dutch compound splitter (storage/search/compounds.py) splits the bundled
records' own vocabulary (funding, labs, knowledge), to compare two versions of it.

    python bench/compound_splits.py --out new.json [--diff old.json]

--out writes {word: [parts, indexed tails]} for every word; --diff compares with a file
written by another version and prints how many words split differently, with examples.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from storage.search import compounds
from storage.search.text import tokens

DATA = ("storage/funding/data/funding.yaml", "storage/labs/data/labs.yaml",
        "storage/knowledge/data/knowledge.yaml")


def splits() -> dict[str, list[list[str]]]:
    words: set[str] = set()
    for f in DATA:
        words.update(tokens(Path(f).read_text(encoding="utf-8")))
    return {w: [list(compounds.split(w)), list(compounds.tails(w))] for w in sorted(words)}


def diff(old: dict, new: dict) -> None:
    words = sorted(old.keys() & new.keys())
    changed = [w for w in words if old[w][0] != new[w][0]]
    print(f"{len(words)} words; split before {sum(1 for w in words if old[w][0])}, "
          f"after {sum(1 for w in words if new[w][0])}; split differently {len(changed)}; "
          f"indexed tails differ {sum(1 for w in words if old[w][1] != new[w][1])}")
    kinds = {"no longer split": [w for w in changed if not new[w][0]],
             "newly split": [w for w in changed if not old[w][0]],
             "split otherwise": [w for w in changed if old[w][0] and new[w][0]]}
    for kind, ws in kinds.items():
        print(f"{kind} ({len(ws)}): " + " ".join(
            f"{w} {'+'.join(old[w][0]) or '-'} -> {'+'.join(new[w][0]) or '-'}" for w in ws))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out")
    ap.add_argument("--diff")
    args = ap.parse_args()
    new = splits()
    if args.out:
        Path(args.out).write_text(json.dumps(new, indent=0), encoding="utf-8")
    if args.diff:
        diff(json.loads(Path(args.diff).read_text(encoding="utf-8")), new)


if __name__ == "__main__":
    main()
