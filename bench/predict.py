"""Prediction speed and memory of the default CPU pipeline on 1,300 rows (the competition's test size).

Trains the default pipeline (``PipelineConfig()``) or ``--config`` on the whole shipped corpus (what
``prompt-recovery train data/corpus/corpus.csv`` does; ``--split train``: its train split) with a cold
embedding cache, prints the training time per stage (issue 31: at most 5 minutes on 2 cores), then
predicts 1,300 rows drawn from the whole corpus (with replacement past its size; speed does not care
which rows) with a cold embedding cache, and prints rows/s and the peak resident memory of the process.
Target (issue 5): at most 20 minutes and 4 GB on 2 cores.

    .venv/bin/python bench/predict.py [--rows 1300] [--config pipeline.toml] [--train-limit N] [--smoke]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from harness import ROOT, start

from prompt_recovery.pipeline import PipelineConfig, train

CORPUS = ROOT / "data" / "corpus"
SMOKE = {"rows": 20, "train_limit": 100, "config": ROOT / "bench" / "smoke.toml"}


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=1300)
    parser.add_argument("--config", type=Path, default=None, help="a pipeline TOML file (default: the library's)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N rows (smoke runs)")
    parser.add_argument("--split", choices=["all", "train"], default="all", help="corpus rows to train on")


def main() -> None:
    run = start("predict", __doc__, options, smoke=SMOKE)
    args = run.args
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    splits = pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"]
    chosen = corpus if args.split == "all" else corpus[corpus["id"].map(splits) == "train"]
    train_rows = chosen.reset_index(drop=True).iloc[: args.train_limit]
    rows = corpus.sample(n=args.rows, replace=args.rows > len(corpus), random_state=0).reset_index(drop=True)
    rows["id"] = [f"r{i}" for i in range(len(rows))]
    rows = rows.drop(columns=["rewrite_prompt"])

    with run.cold_cache() as cache, run.timed("train"):
        pipeline = train(train_rows, config, cache_dir=cache)
    pipeline.embedder.cache = None  # cold cache: every text is encoded
    with run.timed("predict"):
        predictions, _ = pipeline.predict(rows)
    assert all(p.strip() for p in predictions)
    run.seconds.update({f"train: {k}": round(v, 1) for k, v in pipeline.timings.items()})
    run.numbers = {
        "train_rows": len(train_rows),
        "predict_rows": len(rows),
        "predict_rows_per_s": round(len(rows) / run.seconds["predict"], 2),
        "members": list(pipeline.members),
        "ensemble": pipeline.order,
        "targets": "train <= 300 s (issue 31); predict 1,300 rows <= 1,200 s and <= 4 GB (issue 5)",
    }
    run.numbers["validation"] = {k: round(v, 4) for k, v in pipeline.validation.items()}
    run.save()  # the record's peak_rss_gb is the process's peak resident memory


if __name__ == "__main__":
    main()
