"""Training and prediction cost of the default pipeline as the training set grows (issue 16).

For each size N (default 1,000, 4,000 and 12,722 rows drawn, seeded, from the public triples of
../shared/data/external plus the corpus train split), in a fresh process so peak memory is per run:
train the default pipeline (cold embedding cache), then predict 1,300 rows with a cold cache: the 435
rows of the corpus validation split (never trained on; their ensemble predictions are scored, MiniLM
proxy, 95% CI) and 865 StyleRec test rows. Prints one table: seconds, rows/s, peak memory, score.

Targets (2 cores): train 12,722 rows in <= 900 s, cost growing no faster than linearly in rows;
predict 1,300 rows in <= 300 s (>= 4.3 rows/s), peak memory <= 3 GB.

At smoke size the pool is the corpus train split, the extra test rows the demo test set (shipped data),
and the pipeline ``bench/smoke.toml``.

    .venv/bin/python bench/scale.py [--sizes 1000 4000 12722] [--predict 1300] [--config pipeline.toml]
    .venv/bin/python bench/scale.py --smoke
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from harness import ROOT, start

from data import COLUMNS, corpus, demo, public, stylerec_test

SMOKE = {"sizes": [100], "predict": 20, "config": ROOT / "bench" / "smoke.toml"}


def pools(run) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """(training pool, corpus validation rows, StyleRec test rows); at smoke size the pool is the corpus
    train split and the demo test set stands in for StyleRec."""
    train, validation = corpus()
    triples, style_test = public(run), stylerec_test(run)
    if triples is None or style_test is None:
        return train[COLUMNS], validation[COLUMNS], demo()[1][COLUMNS]
    pool = pd.concat([triples[COLUMNS], train[COLUMNS]], ignore_index=True)
    return pool, validation[COLUMNS], style_test


def run_one(size: int, n_predict: int, config_path: Path | None, run) -> dict:  # type: ignore[no-untyped-def]
    from prompt_recovery.metric import summarize
    from prompt_recovery.pipeline import PipelineConfig, train
    from prompt_recovery.scoring import score_prompts

    config = PipelineConfig.from_toml(config_path) if config_path else PipelineConfig()
    pool, validation, style_test = pools(run)
    if size > len(pool):
        sys.exit(f"--sizes {size}: only {len(pool)} training rows available")
    rows = pool.sample(n=size, random_state=0).reset_index(drop=True)
    extra = style_test.sample(n=max(0, min(len(style_test), n_predict - len(validation))), random_state=0)
    test = pd.concat([validation, extra], ignore_index=True).head(n_predict)
    test.insert(0, "id", [f"t{i}" for i in range(len(test))])
    with run.cold_cache() as cache:
        t0 = time.perf_counter()
        pipeline = train(rows, config, cache_dir=cache)
        t_train = time.perf_counter() - t0
    pipeline.embedder.cache = None  # cold: every text of the test rows is encoded
    t0 = time.perf_counter()
    predictions, _ = pipeline.predict(test.drop(columns=["rewrite_prompt"]))
    t_predict = time.perf_counter() - t0
    assert all(p.strip() for p in predictions)
    n_val = min(len(validation), len(test))
    scores = score_prompts(pipeline.embedder, predictions[:n_val], list(test["rewrite_prompt"][:n_val]))
    summary = summarize(scores)
    return {
        "rows": size,
        "train_s": t_train,
        "predict_rows": len(test),
        "predict_s": t_predict,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "score": summary.mean,
        "scored_rows": n_val,
        "ci": [summary.ci_low, summary.ci_high],
        "order": pipeline.order,
    }


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 12722])
    parser.add_argument("--predict", type=int, default=1300)
    parser.add_argument("--config", type=Path, default=None, help="a pipeline TOML file (default: the library's)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON


def main() -> None:
    run = start("scale", __doc__, options, smoke=SMOKE)
    args = run.args
    if args.one:
        print(json.dumps(run_one(args.one, args.predict, args.config, run)))
        return
    pools(run)  # fail early, with the clear message, when ../shared is missing
    results = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size), "--predict", str(args.predict)]
        command += ["--smoke"] * run.smoke + (["--config", str(args.config)] if args.config else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"... {size} rows done", flush=True)
    rows = [
        [
            f"{r['rows']:,}",
            round(r["train_s"]),
            round(1000 * r["train_s"] / r["rows"]),
            f"{r['predict_rows']:,}",
            round(r["predict_s"]),
            round(r["predict_rows"] / r["predict_s"], 1),
            round(r["peak_gb"], 2),
            round(r["score"], 4),
            f"{r['ci'][0]:.4f}-{r['ci'][1]:.4f}",
        ]
        for r in results
    ]
    columns = ["train rows", "train s", "s per 1k rows", "predict rows", "predict s", "rows/s", "peak GB"]
    columns += [f"SCS ({results[0]['scored_rows']} corpus val)", "95% CI"]
    run.table("each size in a fresh process, cold caches", columns, rows)
    run.numbers = {"runs": results, "targets": "train 12,722 rows <= 900 s; predict 1,300 rows <= 300 s; <= 3 GB"}
    run.save()


if __name__ == "__main__":
    main()
