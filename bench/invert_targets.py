"""Where the blend's string loses to its vector, and what does not win it back (issue 18).

Loads a pipeline trained by ``blend_warm.py --model DIR`` (a mean prompt and the default blend) and, on
the held-out rows of every source of ``cross_source.py``, turns the blend's vector (default weights)
into strings in several ways. Every column starts from the same warm join (the bank prompts nearest the
vector and the mean prompt, joined; ``join only``) and differs in what comes after:

- ``default``: the blend's inversion (10 refinement rounds toward the vector, 4 edits a round scored);
- ``20 rounds``: 20 rounds and a patience of 3 (harder toward the vector);
- ``append only``: 10 rounds that may only append tokens (the joined real prompts stay intact);
- ``v + 0.5 c``: 10 rounds toward unit(v + 0.5 c), c the bank's centroid (a vector that scores higher
  than v across sources);
- ``input hedge``: a mean prompt searched on the held-out rows' own predicted vectors (transductive:
  every row's string then depends on the other rows) offered to the join next to the mean prompt, then
  the default rounds.

Reference columns: ``vector`` (the blend vector itself), ``mean prompt`` (the string alone), ``input
centroid`` (the unit mean of the held-out rows' predicted vectors, as a vector for every row). MiniLM
proxy, mean SCS; the ratio is to ``default`` on the same rows. The last column is the share of rows
whose default string contains the mean prompt.

    .venv/bin/python bench/invert_targets.py --model /tmp/blend-warm/corpus --train corpus
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from cross_source import CACHE, held_out_sets

from prompt_recovery.metric import row_scores
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Blend, Features
from prompt_recovery.predictors.base import unit
from prompt_recovery.predictors.blend import BlendConfig
from prompt_recovery.predictors.constant import ConstantConfig, search_mean_prompt
from prompt_recovery.predictors.invert import invert, refine_joined
from prompt_recovery.scoring import score_prompts
from prompt_recovery.search.batched import RefineConfig, refine


def part_vectors(pipeline: Pipeline, f: Features) -> tuple[list[np.ndarray], list[float]]:
    """The model's blend parts' vectors for ``f`` ([N, D] each) and today's default part weights (the
    model may have saved others: the parts' fits do not depend on them)."""
    blend = pipeline.members["blend"]
    assert isinstance(blend, Blend)
    return [p.predict_vectors(f, pipeline.context) for p in blend.parts], [s.weight for s in BlendConfig().parts]


def blend_vector(parts: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """unit(sum of weight * part vector), [N, D]; summed in part order (as ``sum`` would)."""
    total = np.zeros_like(parts[0])
    for w, p in zip(weights, parts, strict=True):
        total = total + w * p
    return unit(total)


def measure(pipeline: Pipeline, rows: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """Mean SCS per column of the table, and seconds per string column, on ``rows``."""
    embedder, ctx, mean = pipeline.embedder, pipeline.context, pipeline.mean_prompt
    cfg = BlendConfig().invert
    f = Features.of(rows, embedder)
    assert f.prompt is not None
    truths = list(rows["rewrite_prompt"])
    v = blend_vector(*part_vectors(pipeline, f))
    joined = invert(embedder, v, ctx.bank, replace(cfg, steps=0), [[mean]] * len(v))

    def rounds(target: np.ndarray, config: RefineConfig) -> list[str]:
        return refine(embedder, target, joined, replace(config, top_k=cfg.top_k)).texts

    def hedged() -> list[str]:  # searched as the mean prompt is, on the rows' vectors, started from the bank
        hedge = search_mean_prompt(embedder, v, list(ctx.bank.texts), ConstantConfig())
        return invert(embedder, v, ctx.bank, cfg, [[mean, hedge]] * len(v))

    centroid = unit(ctx.bank.vectors.mean(0, keepdims=True))
    strings: dict[str, Callable[[], list[str]]] = {
        "default": lambda: refine_joined(embedder, v, joined, cfg),  # what the blend does after its join
        "join only": lambda: joined,
        "20 rounds": lambda: rounds(v, RefineConfig(steps=20, patience=3)),
        "append only": lambda: rounds(v, RefineConfig(steps=cfg.steps, moves=("append",))),
        "v + 0.5 c": lambda: rounds(unit(v + 0.5 * centroid), RefineConfig(steps=cfg.steps)),
        "input hedge": hedged,
        "mean prompt": lambda: [mean] * len(v),
    }
    got = {"vector": float(row_scores(v, f.prompt).mean())}
    seconds = {}
    for head, make in strings.items():
        began = time.perf_counter()
        texts = make()
        seconds[head] = time.perf_counter() - began
        got[head] = float(score_prompts(embedder, texts, truths).mean())
        if head == "default":  # how much of the output is the hedge
            got["holds mean"] = sum(mean in t for t in texts) / len(texts)
    pooled = np.broadcast_to(unit(v.mean(0, keepdims=True)), v.shape)
    got["input centroid"] = float(row_scores(pooled, f.prompt).mean())
    return got, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="folder written by blend_warm.py --model")
    ap.add_argument("--train", choices=["corpus", "stylerec", "gpt35"], default="corpus", help="its training source")
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    args = ap.parse_args()
    pipeline = Pipeline.load(args.model, cache_dir=CACHE)
    heads = ["vector", "default", "join only", "20 rounds", "append only", "v + 0.5 c", "input hedge"]
    heads += ["mean prompt", "input centroid"]
    print("| scored on | " + " | ".join(heads) + " | default holds the mean prompt |")
    print("|---|" + "---|" * (len(heads) + 1))
    for tag, rows in held_out_sets(args.train, args.limit):
        got, seconds = measure(pipeline, rows)
        cells = [f"{got[h]:.4f} ({got[h] / got['default']:.2f}x)" for h in heads]
        print(f"| {tag} | " + " | ".join(cells) + f" | {got['holds mean']:.0%} |", flush=True)
        print("  seconds: " + ", ".join(f"{h} {s:.0f}" for h, s in seconds.items()), flush=True)


if __name__ == "__main__":
    main()
