"""Inversion refinement, side by side: per-row token search (``search``, one objective at a time) against
the batched refinement (``search/batched.py``, all rows in step), same rows, same start strings.

Vectors: the retrieval member's predicted prompt vectors (k=20, fitted on the corpus train split in
seconds) for ``--rows`` rows of the corpus validation split; start strings: their joined inversion
(``invert`` with join 3, no steps). For each method: seconds, the mean fit to the vectors (|cos|^3
of the string against its vector) and the mean SCS against the true prompts. The single-token states
both methods read (``search/space.py``) are built once, before the timings. With ``--blend-rounds`` the
refinement the blend runs by default (10 rounds of 4 edits) is timed too.

    .venv/bin/python bench/refine.py [--rows 40] [--train-limit N] [--smoke]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from harness import CACHE, start

from data import corpus
from prompt_recovery.banks import PromptBank
from prompt_recovery.embed import load_embedder
from prompt_recovery.predictors import Context, Features, InvertConfig, Retrieval
from prompt_recovery.predictors.invert import invert
from prompt_recovery.predictors.retrieval import RetrievalConfig
from prompt_recovery.scoring import score_prompts
from prompt_recovery.search import SearchConfig, TargetSCS, search
from prompt_recovery.search.batched import RefineConfig, refine
from prompt_recovery.search.space import token_space


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--train-limit", type=int, default=None, help="fit retrieval on the first N rows (smoke runs)")
    parser.add_argument("--steps", type=int, default=3, help="steps of both methods, side by side")
    parser.add_argument("--top-k", type=int, default=48, help="edits per row per step of both methods")
    parser.add_argument("--blend-rounds", type=int, default=10, help="the blend's refinement: rounds (0: not run)")
    parser.add_argument("--blend-top-k", type=int, default=4, help="the blend's refinement: edits per row a round")


def main() -> None:
    smoke = {"rows": 2, "train_limit": 100, "steps": 1, "top_k": 8, "blend_rounds": 0}
    run = start("refine", __doc__, options, smoke=smoke)
    args = run.args
    train_rows, val_rows = corpus()
    train_rows = train_rows.iloc[: args.train_limit]
    val_rows = val_rows.iloc[:: max(1, len(val_rows) // args.rows)].head(args.rows).reset_index(drop=True)
    emb = load_embedder(cache_dir=CACHE)  # its cache folder also keeps the single-token states
    train_f = Features.of(train_rows, emb)
    ctx = Context(emb, PromptBank.of(train_rows["rewrite_prompt"], emb))  # the training prompts, in order
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

    same = f"{args.steps} steps, top_k {args.top_k}"
    methods = {
        "start (joins only)": lambda: starts,
        f"per-row search, {same}": lambda: per_row(args.steps, args.top_k),
        f"batched, {same}": lambda: batched(args.steps, args.top_k),
    }
    if args.blend_rounds:
        label = f"batched, {args.blend_rounds} rounds, top_k {args.blend_top_k} (the blend's default)"
        methods[label] = lambda: batched(args.blend_rounds, args.blend_top_k)
    seconds, rows = {}, []
    for name, method in methods.items():
        t0 = time.perf_counter()
        texts = method()
        seconds[name] = time.perf_counter() - t0
        fit = np.abs(np.einsum("nd,nd->n", emb.encode(texts, use_cache=False), vectors)) ** 3
        true = score_prompts(emb, texts, truth)
        rows.append([name, round(seconds[name], 1), round(float(fit.mean()), 4), round(float(true.mean()), 4)])
    title = f"{len(val_rows)} corpus validation rows, retrieval vectors (MiniLM)"
    run.table(title, ["method", "seconds", "fit to vector", "SCS vs truth"], rows)
    ratio = seconds[f"per-row search, {same}"] / seconds[f"batched, {same}"]
    run.numbers = {"batched_speedup_same_steps": round(ratio, 1), "rows": len(val_rows)}
    run.note(f"batched / per-row speed at the same steps and top_k: {ratio:.1f}x")
    run.save()


if __name__ == "__main__":
    main()
