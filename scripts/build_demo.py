"""Rebuild data/demo/train.csv and test.csv from data/demo/src/*.jsonl, after checking them.

The demo set is small (84 rows) and written by the project, one prompt per original. Within each
source file every third row (the 2nd, 5th, 8th, ...) goes to ``test``: the files list three rows per
genre in a row, so the test rows cover every genre. Checks: the corpus checks (empty fields,
duplicates, rewrites that copy their original, near-duplicate originals; the 40-word floor on
originals is lowered to 10 for the short d-rows), plus no prompt or original shared with
data/corpus (so training on the corpus never sees a demo test row).

.venv/bin/python scripts/build_demo.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from prompt_recovery.corpus import check_corpus, near_duplicates
from prompt_recovery.data import write_table_atomic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
COLUMNS = ["id", "genre", "prompt_family", "original_text", "rewrite_prompt", "rewritten_text"]


def norm(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!?")


def build_demo() -> pd.DataFrame:
    """All demo rows from ``src/*.jsonl`` with a ``split`` column (``train`` / ``test``)."""
    parts = []
    for path in sorted((DEMO / "src").glob("*.jsonl")):
        rows = pd.DataFrame([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line])
        rows["split"] = ["test" if i % 3 == 1 else "train" for i in range(len(rows))]
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def find_problems(demo: pd.DataFrame) -> list[str]:
    """The corpus checks, plus any prompt or near-duplicate original shared with data/corpus."""
    problems = check_corpus(demo[COLUMNS], min_words=10).errors
    corpus = pd.read_csv(ROOT / "data" / "corpus" / "corpus.csv", dtype=str, keep_default_na=False)
    shared = set(map(norm, demo["rewrite_prompt"])) & set(map(norm, corpus["rewrite_prompt"]))
    problems += [f"prompt also in the corpus: {p!r}" for p in sorted(shared)]
    originals = list(demo["original_text"]) + list(dict.fromkeys(corpus["original_text"]))
    n = len(demo)
    for i, j, jac in near_duplicates(originals):
        if (i < n) != (j < n):
            problems.append(f"{demo['id'][min(i, j)]}: original near-duplicates a corpus original ({jac:.2f})")
    return problems


def main() -> None:
    demo = build_demo()
    problems = find_problems(demo)
    for problem in problems:
        print("problem:", problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problem(s): nothing written")
    for split in ("train", "test"):
        write_table_atomic(demo.loc[demo["split"] == split, COLUMNS], DEMO / f"{split}.csv")
    print(f"wrote {len(demo)} rows: {demo['split'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
