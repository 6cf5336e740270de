"""Prediction time of a trained model at several refinement widths (the blend's ``invert.top_k``).

Loads MODEL, sets the blend's ``invert.top_k`` to each value given (``join_trials`` 4), and predicts
1,300 corpus rows (drawn with replacement, seeded) with a cold embedding cache, printing seconds and
rows/s for each, in one run.

    .venv/bin/python bench/refine_speed.py MODEL 8 4
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from prompt_recovery.pipeline import Pipeline

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "corpus.csv"


def main() -> None:
    model, widths = sys.argv[1], [int(v) for v in sys.argv[2:]]
    corpus = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    rows = corpus.sample(n=1300, replace=True, random_state=0).reset_index(drop=True)
    rows["id"] = [f"r{i}" for i in range(len(rows))]
    rows = rows.drop(columns=["rewrite_prompt"])
    for top_k in widths:
        pipeline = Pipeline.load(model)
        blend = pipeline.members["blend"]
        blend.config = replace(blend.config, invert=replace(blend.config.invert, top_k=top_k, join_trials=4))
        pipeline.embedder.cache = None  # cold: every text is encoded
        t0 = time.perf_counter()
        pipeline.predict(rows)
        seconds = time.perf_counter() - t0
        rate = 1300 / seconds
        print(f"top_k={top_k}: 1,300 corpus rows in {seconds:.0f}s ({rate:.1f} rows/s), order {pipeline.order}")


if __name__ == "__main__":
    main()
