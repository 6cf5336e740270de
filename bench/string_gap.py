"""Why the blend's string scores below its vector, split into parts (issue 18).

Loads a pipeline trained by ``blend_warm.py --model DIR`` (a mean prompt and the default blend). On the
held-out rows of every source of ``cross_source.py``, with v the blend's vector (default weights) and m
the mean prompt's embedding, every string's embedding s is split by least squares as

    s = a v + b m + r,    r orthogonal to both v and m

``plane`` is unit(a v + b m), what the string would score without r; ``|r|`` is the off-plane norm
(0: the string is a pure mix of the vector and the mean prompt); ``b/a`` says where in the plane it lies
(median over rows). Tables printed, MiniLM proxy, mean SCS over the rows:

1. vectors: unit(v + beta m) for beta in ``BETAS`` (beta 0 is the blend's vector), and m alone;
2. strings: ``join only`` (the warm join), ``default`` (the blend's inversion: the join, then 10
   rounds toward v), each with ``plane``, ``|r|`` and ``b/a``; with ``--weights``, the default inversion
   of the vector at other part weights (retrieval, attention, MLP, bank); with ``--finetuned ADAPTER``,
   the LLM's guesses alone and the default string with the guess appended (a concatenation ensemble);
   with ``--local K``, ``join + local`` and ``default + local``: the same inversion with the ``LOCAL_OFFERED``
   local mean prompts nearest the vector offered to the join next to the mean prompt. A local mean
   prompt is a mean prompt searched on one cluster of the bank's prompts (k-means on their vectors, K
   clusters, seed 0; a short search, ``LOCAL_SEARCH``): a string for an average of similar prompts,
   which is what the blend's retrieval parts predict.

``oracle`` is a ceiling, not a predictor: each row takes whichever of the mean prompt, ``join only`` and
``default`` scores best against its true prompt, so no rule choosing among those three strings per
row can score above it; the ``nearest unit(v + beta m)`` rows are such rules, taking the string whose
embedding is nearest that hedged vector. The ratio in brackets is to ``default`` on the same rows.

    .venv/bin/python bench/string_gap.py --model /tmp/blend-warm/corpus --train corpus --weights 2,1,1,2
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from cross_source import CACHE, held_out_sets
from invert_targets import blend_vector, part_vectors

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import cosine_rows, row_scores
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Features
from prompt_recovery.predictors.blend import BlendConfig
from prompt_recovery.predictors.constant import ConstantConfig, search_mean_prompt
from prompt_recovery.predictors.invert import invert, refine_joined

BETAS = (0.0, 0.5, 1.0, 2.0, 4.0)
LOCAL_OFFERED = 4
ORACLE_OF = ("join only", "default")  # with the mean prompt: the strings the oracle row picks among
SELECT_BETAS = (0.0, 0.5, 1.0)
LOCAL_SEARCH = ConstantConfig(max_tokens=12, start_prompts=4, top_k=64, patience=3)


def split(s: np.ndarray, v: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``s`` [N, D] as a v + b m + r (``v`` [N, D], ``m`` [D]): the plane parts [N, D], |r| [N]
    and b/a [N]. Example: s = v (a string that is the vector) -> plane v, |r| 0, b/a 0."""
    plane = np.empty_like(s)
    ratio = np.empty(len(s))
    for i in range(len(s)):
        basis = np.stack([v[i], m], axis=1)  # [D, 2]
        (a, b), *_ = np.linalg.lstsq(basis, s[i], rcond=None)
        plane[i] = basis @ np.array([a, b])
        ratio[i] = b / a if a else np.inf
    return plane, np.linalg.norm(s - plane, axis=1), ratio


def local_means(pipeline: Pipeline, k: int) -> list[str]:
    """One mean prompt per k-means cluster of the pipeline's bank vectors (seed 0), in cluster order."""
    from scipy.cluster.vq import kmeans2

    bank = pipeline.context.bank
    _, labels = kmeans2(bank.vectors.astype(np.float64), k, minit="++", seed=0)
    out = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        if len(idx):
            texts = [bank.texts[i] for i in idx]
            out.append(search_mean_prompt(pipeline.embedder, bank.vectors[idx], texts, LOCAL_SEARCH))
    return out


def mean_scs(vectors: np.ndarray, truth: np.ndarray) -> float:
    """Mean SCS of vectors [N, D] (any norm) against truth embeddings [N, D]."""
    return float(row_scores(vectors, truth).mean())


def measure(
    pipeline: Pipeline, rows: pd.DataFrame, weights: list[list[float]], guesses: list[str] | None, local: list[str]
) -> dict:
    """Every figure of the tables for one held-out set; see the module docstring."""
    embedder: Embedder = pipeline.embedder
    ctx, mean = pipeline.context, pipeline.mean_prompt
    cfg = BlendConfig().invert
    f = Features.of(rows, embedder)
    assert f.prompt is not None
    truth = f.prompt
    parts, default_weights = part_vectors(pipeline, f)
    v = blend_vector(parts, default_weights)
    m = embedder.encode([mean])[0]
    got: dict = {"vectors": {beta: mean_scs(v + beta * m, truth) for beta in BETAS}}
    got["vectors"]["m"] = mean_scs(np.broadcast_to(m, v.shape), truth)

    began = time.perf_counter()
    joined = invert(embedder, v, ctx.bank, replace(cfg, steps=0), [[mean]] * len(v))
    default = refine_joined(embedder, v, joined, cfg)
    seconds = {"join + default": time.perf_counter() - began}
    strings = {"join only": joined, "default": default}
    for w in weights:
        began = time.perf_counter()
        head = "weights " + ",".join(f"{x:g}" for x in w)
        strings[head] = invert(embedder, blend_vector(parts, w), ctx.bank, cfg, [[mean]] * len(v))
        seconds[head] = time.perf_counter() - began
    if local:
        began = time.perf_counter()
        near = np.argsort(-(v @ embedder.encode(local).T), axis=1, kind="stable")[:, :LOCAL_OFFERED]
        offered = [[mean, *(local[j] for j in row)] for row in near]
        strings["join + local"] = invert(embedder, v, ctx.bank, replace(cfg, steps=0), offered)
        strings["default + local"] = refine_joined(embedder, v, strings["join + local"], cfg)
        seconds["join + default, local"] = time.perf_counter() - began
    if guesses is not None:
        strings["LLM guess"] = [g or mean for g in guesses]  # a blank guess would score 0; the pipeline falls back
        strings["default + LLM guess"] = [f"{d} {g}".strip() for d, g in zip(default, guesses, strict=True)]
    got["strings"] = {}
    choices = [np.broadcast_to(m, v.shape)]  # the mean prompt's string is m
    for head, texts in strings.items():
        s = embedder.encode(texts, use_cache=False)
        if head in ORACLE_OF:
            choices.append(s)
        plane, off, ratio = split(s, v, m)
        got["strings"][head] = {
            "scs": mean_scs(s, truth),
            "plane": mean_scs(plane, truth),
            "off": float(off.mean()),
            "b/a": float(np.median(ratio)),
        }
    per_row = np.stack([row_scores(c, truth) for c in choices])  # [strings, N]
    # A ceiling, not a predictor: the truth picks each row's best string.
    got["oracle"] = float(per_row.max(axis=0).mean())
    # Rules without the truth: each row's string nearest unit(v + beta m) (first on a tie).
    got["nearest"] = {}
    for beta in SELECT_BETAS:
        cos = np.stack([cosine_rows(c, v + beta * m) for c in choices])  # [strings, N]
        got["nearest"][beta] = float(per_row[cos.argmax(axis=0), np.arange(len(v))].mean())
    got["seconds"] = seconds
    return got


def fine_tuned_guesses(adapter: Path, rows: pd.DataFrame, embedder: Embedder) -> tuple[list[str], float]:
    from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig

    member = Finetuned(FinetunedConfig(adapter=str(adapter)))
    member.fit(None, None)  # type: ignore[arg-type]  # checks the adapter; reads no rows
    began = time.perf_counter()
    guesses = member.predict(Features.of(rows, embedder), None)  # type: ignore[arg-type]
    return guesses, time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="folder written by blend_warm.py --model")
    ap.add_argument("--train", choices=["corpus", "stylerec", "gpt35"], default="corpus", help="its training source")
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    ap.add_argument("--weights", nargs="*", default=[], help="part weights to invert too, e.g. 2,1,1,2")
    ap.add_argument("--finetuned", type=Path, help="a `prompt-recovery finetune` folder: its guesses as columns")
    ap.add_argument("--local", type=int, default=0, help="K: offer local mean prompts of K bank clusters")
    ap.add_argument("--sources", nargs="*", help="held-out sources to score (default: all)")
    args = ap.parse_args()
    weights = [[float(x) for x in w.split(",")] for w in args.weights]
    pipeline = Pipeline.load(args.model, cache_dir=CACHE)
    for w in weights:
        if len(w) != len(BlendConfig().parts):
            raise SystemExit(f"--weights {w}: give one weight per blend part ({len(BlendConfig().parts)})")
    local: list[str] = []
    if args.local:
        began = time.perf_counter()
        local = local_means(pipeline, args.local)
        print(f"{len(local)} local mean prompts in {time.perf_counter() - began:.0f} s", flush=True)
    results = {}
    for tag, rows in held_out_sets(args.train, args.limit, args.sources):
        guesses = None
        if args.finetuned:
            guesses, took = fine_tuned_guesses(args.finetuned, rows, pipeline.embedder)
            print(f"{tag}: {len(rows)} fine-tuned guesses in {took:.0f} s", flush=True)
        results[tag] = got = measure(pipeline, rows, weights, guesses, local)
        print(f"{tag}: " + ", ".join(f"{h} {s:.0f} s" for h, s in got["seconds"].items()), flush=True)

    print("\n| scored on | " + " | ".join(f"unit(v + {b:g} m)" for b in BETAS) + " | m alone |")
    print("|---|" + "---|" * (len(BETAS) + 1))
    for tag, got in results.items():
        ref = got["strings"]["default"]["scs"]
        cells = [f"{x:.4f} ({x / ref:.2f}x)" for x in got["vectors"].values()]
        print(f"| {tag} | " + " | ".join(cells) + " |")
    print("\n| scored on | string | SCS | plane part alone | off-plane norm |r| | b/a (median) |")
    print("|---|---|---|---|---|---|")
    for tag, got in results.items():
        ref = got["strings"]["default"]["scs"]
        for head, x in got["strings"].items():
            score, plane = f"{x['scs']:.4f} ({x['scs'] / ref:.2f}x)", f"{x['plane']:.4f} ({x['plane'] / ref:.2f}x)"
            print(f"| {tag} | {head} | {score} | {plane} | {x['off']:.3f} | {x['b/a']:.2f} |")
        for beta, x in got["nearest"].items():
            print(f"| {tag} | of those three, the nearest unit(v + {beta:g} m) | {x:.4f} ({x / ref:.2f}x) | | | |")
        x = got["oracle"]
        print(
            f"| {tag} | oracle: each row's best of mean prompt, join only, default | {x:.4f} ({x / ref:.2f}x) | | | |"
        )


if __name__ == "__main__":
    main()
