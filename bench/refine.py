"""Inversion refinement, side by side: per-row token search (``search``, one objective at a time) against
the batched refinement (``search/batched.py``, all rows in step), same rows, same start strings.

Vectors: the retrieval member's predicted prompt vectors (k=20, fitted on the corpus train split in
seconds) for ``--rows`` rows of the corpus validation split; start strings: their joined inversion
(``invert`` with join 3, no steps). For each method: seconds, the mean fit to the vectors (|cos|^3
of the string against its vector) and the mean SCS against the true prompts.

    .venv/bin/python bench/refine.py [--rows 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from quality import load

from prompt_recovery.embed import load_embedder
from prompt_recovery.predictors import Features, Retrieval
from prompt_recovery.predictors.invert import invert
from prompt_recovery.scoring import score_prompts
from prompt_recovery.search import SearchConfig, TargetSCS, search
from prompt_recovery.search.batched import RefineConfig, refine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args()
    train_rows, val_rows = load("corpus")
    val_rows = val_rows.iloc[:: max(1, len(val_rows) // args.rows)].head(args.rows).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as states_dir:
        emb = load_embedder(cache_dir=".cache/bench")
        retrieval = Retrieval(k=20)
        retrieval.fit(Features.of(train_rows.reset_index(drop=True), emb), emb)
        vectors = retrieval.predict_vectors(Features.of(val_rows, emb), emb)
        starts = invert(emb, vectors, retrieval.prompts, retrieval.prompt_vecs, join=3)
        truth = list(val_rows["rewrite_prompt"])
        refine(emb, vectors[:1], starts[:1], RefineConfig(steps=1), states_dir)  # computes the cached states

        def per_row(steps: int, top_k: int) -> list[str]:
            cfg = SearchConfig(
                moves=("append", "replace"), top_k=top_k, max_added_tokens=steps, patience=2, cache_dir=states_dir
            )
            return [search(emb, TargetSCS(v), cfg, init=s).text for v, s in zip(vectors, starts, strict=True)]

        methods = {
            "start (joins only)": lambda: starts,
            "per-row search, 3 steps, top_k 48": lambda: per_row(3, 48),
            "batched, 3 steps, top_k 48": lambda: refine(emb, vectors, starts, RefineConfig(3, 48), states_dir)[0],
            "batched, 10 steps, top_k 8 (default)": lambda: refine(
                emb, vectors, starts, RefineConfig(10, 8), states_dir
            )[0],
        }
        print(f"{len(val_rows)} corpus validation rows, retrieval vectors (MiniLM)")
        print("| method | seconds | fit to vector | SCS vs truth |")
        print("|---|---|---|---|")
        seconds = {}
        for name, run in methods.items():
            t0 = time.perf_counter()
            texts = run()
            seconds[name] = time.perf_counter() - t0
            fit = np.abs(np.einsum("nd,nd->n", emb.encode(texts, use_cache=False), vectors)) ** 3
            true = score_prompts(emb, texts, truth)
            print(f"| {name} | {seconds[name]:.1f} | {fit.mean():.4f} | {true.mean():.4f} |")
        ratio = seconds["per-row search, 3 steps, top_k 48"] / seconds["batched, 3 steps, top_k 48"]
        print(f"batched / per-row speed at the same steps and top_k: {ratio:.1f}x")


if __name__ == "__main__":
    main()
