"""Ray scale-out (issue 30): rows/s of ``predict`` with the local engine and with Ray on 1 and 2 workers.

Trains a small pipeline (constant, retrieval, MLP regression; no extra bank) on the shipped corpus rows,
builds ``--rows`` input rows by repeating the corpus rows with new ids, and predicts them with
``prediction.predict_file`` (one process, all cores) and ``engines.ray.predict_ray`` on a local cluster
of 1 and 2 workers (one CPU each). Reports rows/s, Ray's overhead per block (the wall time the workers
were not inside the model: (wall - startup) x workers - model seconds, per block; startup measured on
one block), the peak resident memory of each worker against the local process's, and whether every id
came back once with the same strings as the local engine. Each run has a cold embedding cache.
Targets: Ray 2 workers >= 0.9x local rows/s; memory per worker <= local peak; 0 lost or duplicated rows.

    .venv/bin/python bench/ray_scale.py [--rows 20000] [--block-rows 256] [--smoke]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
from harness import ROOT, start

SMOKE = {"rows": 200, "train_limit": 100}


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--block-rows", type=int, default=256)
    parser.add_argument("--train-limit", type=int, default=300, help="train on the first N corpus rows")


def train_model(folder: Path, limit: int | None) -> None:
    from prompt_recovery.pipeline import PipelineConfig, train

    corpus = pd.read_csv(ROOT / "data" / "corpus" / "corpus.csv", dtype=str, keep_default_na=False)
    members = [{"kind": "constant", "text": "Rewrite the text."}, {"kind": "retrieval", "k": 10},
               {"kind": "regression", "arch": "mlp", "epochs": 2}]  # fmt: skip
    train(corpus.iloc[:limit], PipelineConfig(members=members).with_settings(bank="none")).save(folder)


def local_run(data: Path, out: Path, model: Path, cache: Path, chunk: int) -> tuple[float, float]:
    """Seconds and peak resident MB of ``predict_file`` in a fresh process (its own peak, not ours)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_local, (data, out, model, cache, chunk))


def _local(data: Path, out: Path, model: Path, cache: Path, chunk: int) -> tuple[float, float]:
    from prompt_recovery.prediction import predict_file

    began = time.perf_counter()
    predict_file(data, out, model=model, chunk=chunk, cache_dir=cache)
    return time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    run = start("ray_scale", __doc__, options, smoke=SMOKE)
    args = run.args
    import ray

    from prompt_recovery.engines.ray import predict_ray

    corpus = pd.read_csv(ROOT / "data" / "corpus" / "corpus.csv", dtype=str, keep_default_na=False)
    rows = corpus.sample(n=args.rows, replace=args.rows > len(corpus), random_state=0).reset_index(drop=True)
    rows = rows[["original_text", "rewritten_text"]].assign(id=[f"r{i:06d}" for i in range(len(rows))])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data, model = tmp / "rows.csv", tmp / "model"
        rows[["id", "original_text", "rewritten_text"]].to_csv(data, index=False)
        with run.timed("train"):
            train_model(model, args.train_limit)
        seconds, local_mb = local_run(data, tmp / "local.csv", model, tmp / "cache-local", args.block_rows)
        run.seconds["local"] = round(seconds, 1)
        reference = (tmp / "local.csv").read_bytes()
        table = [["local (1 process, 2 threads)", len(rows), round(seconds, 1), round(len(rows) / seconds, 1),
                  "", round(local_mb), "yes"]]  # fmt: skip
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            for workers in (1, 2):
                cache = tmp / f"cache-ray{workers}"
                one = tmp / "one.csv"
                rows.head(1)[["id", "original_text", "rewritten_text"]].to_csv(one, index=False)
                began = time.perf_counter()
                predict_ray(one, tmp / "one-out.csv", model=model, cache_dir=cache, workers=workers)
                startup = time.perf_counter() - began  # actors started, model loaded, one row
                out = tmp / f"ray{workers}.csv"
                began = time.perf_counter()
                result = predict_ray(data, out, model=model, block_rows=args.block_rows, cache_dir=cache,
                                     workers=workers)  # fmt: skip
                wall = time.perf_counter() - began
                run.seconds[f"ray {workers} workers"] = round(wall, 1)
                overhead = max(0.0, (wall - startup) * workers - result.worker_seconds) / result.blocks
                ids = pd.read_csv(out, dtype=str)["id"]
                whole = ids.is_unique and len(ids) == len(rows) and out.read_bytes() == reference
                peak = max(result.workers.values())
                table.append([f"ray, {workers} worker(s)", len(rows), round(wall, 1), round(len(rows) / wall, 1),
                              round(overhead, 3), round(peak), "yes" if whole else "NO"])  # fmt: skip
                run.numbers[f"ray{workers}_startup_s"] = round(startup, 1)
                run.numbers[f"ray{workers}_block_overhead_s"] = round(overhead, 3)
                run.numbers[f"ray{workers}_worker_peak_mb"] = {str(k): v for k, v in result.workers.items()}
        finally:
            ray.shutdown()
    local_rate, ray2_rate = table[0][3], table[2][3]
    run.numbers.update(
        rows=len(rows),
        block_rows=args.block_rows,
        local_peak_mb=round(local_mb),
        ray2_vs_local=round(ray2_rate / local_rate, 2),
        targets="ray 2 workers >= 0.9x local rows/s; worker peak <= local peak; every id once, same bytes",
    )
    columns = ["engine", "rows", "seconds", "rows/s", "overhead s/block", "peak MB (per worker)", "same bytes"]
    run.table(f"predict {len(rows)} rows, blocks of {args.block_rows} (cold caches)", columns, table)
    run.save()


if __name__ == "__main__":
    main()
