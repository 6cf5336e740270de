"""Rebuild data/corpus/corpus.csv and splits.csv from data/corpus/src/*.toml, after checking them.

.venv/bin/python scripts/build_corpus.py          # refuses to write if the check finds problems
.venv/bin/python scripts/build_corpus.py --force  # writes anyway (problems still printed)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from prompt_recovery.corpus import assign_splits, build_corpus, check_corpus
from prompt_recovery.data import write_table_atomic

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
START, END = "<!-- stats:start -->", "<!-- stats:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    df = build_corpus(CORPUS / "src")
    report = check_corpus(df)
    for problem in report.errors:
        print("problem:", problem, file=sys.stderr)
    print(json.dumps(report.stats, indent=2))
    if report.errors and not args.force:
        sys.exit(f"{len(report.errors)} problem(s): nothing written (use --force to write anyway)")
    write_table_atomic(df, CORPUS / "corpus.csv")
    splits = df[["id"]].assign(split=assign_splits(df))
    write_table_atomic(splits, CORPUS / "splits.csv")
    update_datasheet(df, splits, report.stats)
    print(f"wrote {len(df)} rows; splits: {splits['split'].value_counts().to_dict()}")


def update_datasheet(df: pd.DataFrame, splits: pd.DataFrame, stats: dict) -> None:
    """Rewrite the generated statistics section of data/corpus/README.md (between the markers)."""
    lines = [START, "", "Built by `scripts/build_corpus.py` from `src/*.toml`.", ""]
    lines += [
        f"- rows: {stats['rows']:,}; distinct originals: {stats['originals']:,}; "
        f"distinct prompts: {stats['distinct_prompts']:,}",
        f"- splits: {splits['split'].value_counts().to_dict()}",
        f"- rewrites opening with a preamble (Sure / Here / Certainly / Okay): {stats['preamble_share']:.0%}",
        f"- words per original: {stats['original_words']}",
        f"- words per rewrite: {stats['rewrite_words']}",
        f"- words per prompt: {stats['prompt_words']}",
        "",
        "| genre | rows | originals |",
        "|---|---|---|",
    ]
    originals = df.groupby("genre")["original_text"].nunique()
    for genre, n in df["genre"].value_counts().sort_index().items():
        lines.append(f"| {genre} | {n} | {originals[genre]} |")
    lines += ["", "| prompt family | rows |", "|---|---|"]
    for family, n in df["prompt_family"].value_counts().items():
        lines.append(f"| {family} | {n} |")
    words = df["rewrite_prompt"].map(lambda t: len(t.split()))
    bins = [(1, 4), (5, 9), (10, 14), (15, 19), (20, 25), (26, 1000)]
    lines += ["", "Prompt length (words):", "", "```"]
    for lo, hi in bins:
        n = int(((words >= lo) & (words <= hi)).sum())
        label = f"{lo}-{hi}" if hi < 1000 else f"{lo}+"
        lines.append(f"{label:>6} | {'#' * max(1 if n else 0, round(60 * n / len(words)))} {n}")
    lines += ["```", "", END]
    path = CORPUS / "README.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
