"""The blend's part weights and refinement anchor, side by side on one split (issue 5).

Fits the blend's three default parts once (retrieval k=20, attention regression 30 epochs, MLP
regression) on the train part of ``--source``, then for each configuration ``R:A:M@anchor`` averages
the parts' vectors with weights R, A, M, inverts the average (3 training prompts joined, then
``--steps`` rounds of ``--top-k`` edits toward the vector, anchored as in ``predictors/invert.py``) and
prints the vector's SCS and the string's mean SCS with a 95% CI on the held-out rows.

Sources: ``inner`` (the corpus train split with 20% of its documents held out, seed 1: where the
blend's defaults were chosen), ``corpus`` (train -> validation split), ``public`` (needs ../shared).

    .venv/bin/python bench/blend_sweep.py --source inner 1:1:0@0 1:1:0@0.25 2:1:1@0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from quality import CACHE, load

from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import cosine_rows, scs, summarize
from prompt_recovery.pipeline import _bank_of
from prompt_recovery.predictors import Blend, Context, Features, InvertConfig
from prompt_recovery.predictors.base import unit
from prompt_recovery.predictors.invert import invert, refine_joined
from prompt_recovery.scoring import score_prompts

DEFAULT_CONFIGS = ["1:1:0@0", "1:1:0@0.25", "2:1:1@0", "2:1:1@0.25"]


def inner_split(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The corpus train split, 20% of its documents (ids ``doc-k``) held out."""
    train, _ = load("corpus")
    train = train.reset_index(drop=True)
    doc = train["id"].str.rsplit("-", n=1).str[0]
    docs = np.array(sorted(set(doc)))
    held = set(np.random.default_rng(seed).choice(docs, len(docs) // 5, replace=False))
    return train[~doc.isin(held)], train[doc.isin(held)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=["inner", "corpus", "public"], default="inner")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top-k", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out rows (smoke runs)")
    parser.add_argument("--train-limit", type=int, default=None, help="fit on the first N train rows (smoke runs)")
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS, help="R:A:M@anchor, e.g. 2:1:1@0")
    args = parser.parse_args()
    train_rows, test_rows = inner_split() if args.source == "inner" else load(args.source)
    train_rows = train_rows.reset_index(drop=True).iloc[: args.train_limit]
    test_rows = test_rows.reset_index(drop=True).iloc[: args.limit]
    embedder = load_embedder("minilm", cache_dir=CACHE)  # also holds the token search's single-token states
    start = time.perf_counter()
    train_f, test_f = Features.of(train_rows, embedder), Features.of(test_rows, embedder)
    ctx = Context(embedder, _bank_of(train_f))  # the training prompts: the inversion's candidates
    blend = Blend()  # default parts: retrieval, attention regression, MLP regression
    blend.fit(train_f, ctx)
    parts = [part.predict_vectors(test_f, ctx) for part in blend.parts]
    print(
        f"source {args.source}: {len(train_rows)} train rows, {len(test_rows)} held out; fit in "
        f"{time.perf_counter() - start:.0f}s; {args.steps} rounds of {args.top_k} edits"
    )
    print("| weights | anchor | vector SCS | string SCS | 95% CI | seconds |")
    print("|---|---|---|---|---|---|")
    truth = list(test_rows["rewrite_prompt"])
    joins: dict[str, list[str]] = {}
    for config in args.configs:
        weights, anchor = config.split("@")
        total = sum(float(w) * v for w, v in zip(weights.split(":"), parts, strict=True))
        vectors = unit(total).astype(np.float32)  # as Blend.predict_vectors, from parts predicted once
        t0 = time.perf_counter()
        if weights not in joins:  # the joins depend on the weights only
            joins[weights] = invert(embedder, vectors, ctx.bank, InvertConfig(join=3, pool=12, steps=0))
        refined = InvertConfig(join=3, pool=12, steps=args.steps, top_k=args.top_k, anchor=float(anchor))
        texts = refine_joined(embedder, vectors, joins[weights], refined)
        s = summarize(score_prompts(embedder, texts, truth))
        vec = scs(cosine_rows(vectors, test_f.prompt)).mean()
        print(
            f"| {weights} | {anchor} | {vec:.4f} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} | "
            f"{time.perf_counter() - t0:.0f} |"
        )


if __name__ == "__main__":
    main()
