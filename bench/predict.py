"""Prediction speed and memory of the default CPU pipeline on 1,300 rows (the competition's test size).

Trains the default pipeline (``PipelineConfig()``) or ``--config`` on the whole shipped corpus (what
``prompt-recovery train data/corpus/corpus.csv`` does; ``--split train``: its train split) with a cold
embedding cache, prints the training time per stage (issue 31: at most 5 minutes on 2 cores), then
predicts 1,300 rows drawn from the whole corpus (with replacement past its size; speed does not care
which rows) with a cold embedding cache, and prints rows/s and the peak resident memory of the process.
Target (issue 5): at most 20 minutes and 4 GB on 2 cores.

    .venv/bin/python bench/predict.py [--rows 1300] [--config pipeline.toml] [--train-limit N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from prompt_recovery.pipeline import PipelineConfig, train

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1300)
    parser.add_argument("--config", type=Path, default=None, help="a pipeline TOML file (default: the library's)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N rows (smoke runs)")
    parser.add_argument("--split", choices=["all", "train"], default="all", help="corpus rows to train on")
    args = parser.parse_args()
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    splits = pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"]
    chosen = corpus if args.split == "all" else corpus[corpus["id"].map(splits) == "train"]
    train_rows = chosen.reset_index(drop=True).iloc[: args.train_limit]
    rows = corpus.sample(n=args.rows, replace=args.rows > len(corpus), random_state=0).reset_index(drop=True)
    rows["id"] = [f"r{i}" for i in range(len(rows))]
    rows = rows.drop(columns=["rewrite_prompt"])

    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        pipeline = train(train_rows, config, cache_dir=cache)
        t_train = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as cache:  # cold cache: every text is encoded
        pipeline.embedder.cache = None
        t0 = time.perf_counter()
        predictions, _ = pipeline.predict(rows)
        t_predict = time.perf_counter() - t0
    assert all(p.strip() for p in predictions)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"train: {len(train_rows)} rows in {t_train:.0f}s (members: {', '.join(pipeline.members)})")
    print("  stages: " + ", ".join(f"{k} {v:.0f}s" for k, v in pipeline.timings.items()) + " (target: <= 300s in all)")
    print(f"predict: {len(rows)} rows in {t_predict:.1f}s = {len(rows) / t_predict:.1f} rows/s (target: <= 1200s)")
    print(f"peak resident memory of the process: {peak_gb:.2f} GB (target: <= 4 GB)")
    print(f"ensemble order: {' + '.join(pipeline.order)}; validation: {pipeline.validation}")


if __name__ == "__main__":
    main()
