"""Rebuild data/corpus/corpus.csv and splits.csv from data/corpus/src/*.toml, after checking them.

.venv/bin/python scripts/build_corpus.py          # refuses to write if the check finds problems
.venv/bin/python scripts/build_corpus.py --force  # writes anyway (problems still printed)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prompt_recovery.corpus import assign_splits, build_corpus, check_corpus
from prompt_recovery.data import write_table_atomic

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


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
    print(f"wrote {len(df)} rows; splits: {splits['split'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
