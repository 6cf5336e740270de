"""Training and prediction cost of the default pipeline as the training set grows (issue 16).

For each size N (default 1,000, 4,000 and 12,722 rows drawn, seeded, from the public triples of
../shared/data/external plus the corpus train split), in a fresh process so peak memory is per run:
train the default pipeline (cold embedding cache), then predict 1,300 rows with a cold cache: the 435
rows of the corpus validation split (never trained on; their ensemble predictions are scored, MiniLM
proxy, 95% CI) and 865 StyleRec test rows. Prints one table: seconds, rows/s, peak memory, score.

Targets (2 cores): train 12,722 rows in <= 900 s, cost growing no faster than linearly in rows;
predict 1,300 rows in <= 300 s (>= 4.3 rows/s), peak memory <= 3 GB.

    .venv/bin/python bench/scale.py [--sizes 1000 4000 12722] [--predict 1300]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import SHARED, require_shared

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
COLUMNS = ["original_text", "rewritten_text", "rewrite_prompt"]


def pools() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training pool, corpus validation rows, StyleRec test rows)."""
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    split = corpus["id"].map(pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"])
    public = pd.read_csv(
        require_shared(SHARED / "data" / "external" / "combined_triples.csv"), dtype=str, keep_default_na=False
    )
    style_test = pd.read_csv(
        require_shared(SHARED / "data" / "external" / "stylerec" / "final_test_data.csv"),
        sep="\t",
        dtype=str,
        keep_default_na=False,
    ).rename(columns={"original_sentence": "original_text", "result_sentence": "rewritten_text"})
    style_test = style_test.rename(columns={"style_prompt": "rewrite_prompt"})
    pool = pd.concat([public[COLUMNS], corpus.loc[split == "train", COLUMNS]], ignore_index=True)
    return pool, corpus.loc[split == "validation", COLUMNS].reset_index(drop=True), style_test[COLUMNS]


def run_one(size: int, n_predict: int) -> dict:
    from prompt_recovery.metric import summarize
    from prompt_recovery.pipeline import train
    from prompt_recovery.scoring import score_prompts

    pool, validation, style_test = pools()
    if size > len(pool):
        sys.exit(f"--sizes {size}: only {len(pool)} training rows available")
    rows = pool.sample(n=size, random_state=0).reset_index(drop=True)
    extra = style_test.sample(n=max(0, n_predict - len(validation)), random_state=0)
    test = pd.concat([validation, extra], ignore_index=True).head(n_predict)
    test.insert(0, "id", [f"t{i}" for i in range(len(test))])
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        pipeline = train(rows, cache_dir=cache)
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
        "ci": [summary.ci_low, summary.ci_high],
        "order": pipeline.order,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 12722])
    parser.add_argument("--predict", type=int, default=1300)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.predict)))
        return
    pools()  # fail early, with the clear message, when ../shared is missing
    results = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--predict", str(args.predict)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"... {size} rows done", file=sys.stderr, flush=True)
    print(
        "| train rows | train s | s per 1k rows | predict rows | predict s | rows/s | peak GB "
        "| SCS (435 corpus val) | 95% CI |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['train_s']:.0f} | {1000 * r['train_s'] / r['rows']:.0f} | {r['predict_rows']:,} | "
            f"{r['predict_s']:.0f} | {r['predict_rows'] / r['predict_s']:.1f} | {r['peak_gb']:.2f} | "
            f"{r['score']:.4f} | {r['ci'][0]:.4f}-{r['ci'][1]:.4f} |"
        )
    print(f"ensemble orders: {[r['order'] for r in results]}")


if __name__ == "__main__":
    main()
