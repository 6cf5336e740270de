"""Inversion refinement, side by side: per-row token search (``search``, one objective at a time) against
the batched refinement (``search/batched.py``, all rows in step), same rows, same start strings.

Vectors: the retrieval member's predicted prompt vectors (k=20, fitted on the corpus train split in
seconds) for ``--rows`` rows of the corpus validation split; start strings: their joined inversion
(``invert`` with join 3, no steps). For each method: seconds, the mean fit to the vectors (|cos|^3
of the string against its vector) and the mean SCS against the true prompts. The single-token states
both methods read (``search/space.py``) are built once, before the timings.

    .venv/bin/python bench/refine.py [--rows 40] [--train-limit N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from quality import load

from prompt_recovery.embed import load_embedder
from prompt_recovery.pipeline import _bank_of
from prompt_recovery.predictors import Context, Features, InvertConfig, Retrieval
from prompt_recovery.predictors.invert import invert
from prompt_recovery.predictors.retrieval import RetrievalConfig
from prompt_recovery.scoring import score_prompts
from prompt_recovery.search import SearchConfig, TargetSCS, search
from prompt_recovery.search.batched import RefineConfig, refine
from prompt_recovery.search.space import token_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--train-limit", type=int, default=None, help="fit retrieval on the first N rows (smoke runs)")
    args = parser.parse_args()
    train_rows, val_rows = load("corpus")
    train_rows = train_rows.reset_index(drop=True).iloc[: args.train_limit]
    val_rows = val_rows.iloc[:: max(1, len(val_rows) // args.rows)].head(args.rows).reset_index(drop=True)
    emb = load_embedder(cache_dir=".cache/bench")  # its cache folder also keeps the single-token states
    train_f = Features.of(train_rows, emb)
    ctx = Context(emb, _bank_of(train_f))
    retrieval = Retrieval(RetrievalConfig(k=20))
    retrieval.fit(train_f, ctx)
    vectors = retrieval.predict_vectors(Features.of(val_rows, emb), ctx)
    starts = invert(emb, vectors, ctx.bank, InvertConfig(join=3, steps=0))
    truth = list(val_rows["rewrite_prompt"])
    token_space(emb).ranker  # noqa: B018 - builds (or reads) the single-token states outside the timings

    def per_row(steps: int, top_k: int) -> list[str]:
        cfg = SearchConfig(moves=("append", "replace"), top_k=top_k, max_added_tokens=steps, patience=2)
        return [search(emb, TargetSCS(v), cfg, init=s).text for v, s in zip(vectors, starts, strict=True)]

    def batched(steps: int, top_k: int) -> list[str]:
        return refine(emb, vectors, starts, RefineConfig(steps=steps, top_k=top_k)).texts

    methods = {
        "start (joins only)": lambda: starts,
        "per-row search, 3 steps, top_k 48": lambda: per_row(3, 48),
        "batched, 3 steps, top_k 48": lambda: batched(3, 48),
        "batched, 10 steps, top_k 8 (default)": lambda: batched(10, 8),
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
