"""Vector or string: the blend's loss at inversion, cold and warm-started, in-source and cross-source (issue 18).

Trains (or loads from ``--model``) a pipeline with a mean prompt and the default blend on ``--train`` (a
source of ``cross_source.py``; bank: the training prompts + the packaged osyuksel bank). Then, on the
held-out rows of every source, for each weight W of the blend's training-free bank part, the blend vector
unit(2 r + a + m + W b) is scored as a vector and inverted as the blend does (``BlendConfig().invert``:
join, then 10 refinement rounds) twice:

- ``cold``: from the bank prompts nearest the vector alone (the blend before ``warm_start``);
- ``warm``: with the pipeline's mean prompt offered as a join candidate (``warm_start``, the default).

A part's fit does not depend on its weight, so one training serves every W. Output: one markdown table,
MiniLM proxy, mean SCS with a 95% CI.

    .venv/bin/python bench/blend_warm.py --train corpus --model /tmp/blend-warm/corpus 0.5 1 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cross_source import CACHE, held_out_sets, sources

from prompt_recovery.metric import cosine_rows, scs, summarize
from prompt_recovery.pipeline import Pipeline, PipelineConfig, train
from prompt_recovery.predictors import Blend, Features
from prompt_recovery.predictors.base import unit
from prompt_recovery.predictors.blend import BlendConfig
from prompt_recovery.predictors.invert import invert
from prompt_recovery.scoring import score_prompts

BANK_PART = 3  # index of the training-free bank part in the default blend's parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", choices=["corpus", "stylerec", "gpt35"], default="corpus")
    ap.add_argument("--model", type=Path, required=True, help="model folder: loaded if it exists, else trained there")
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    ap.add_argument("weights", nargs="+", type=float, help="weights of the bank part")
    args = ap.parse_args()
    if not args.model.exists():
        start = time.perf_counter()
        config = PipelineConfig.from_doc({"member": [{"kind": "constant"}, {"kind": "blend"}]})
        train(sources(3000)[args.train][0], config, cache_dir=CACHE).save(args.model)
        print(f"trained on {args.train} in {time.perf_counter() - start:.0f}s")
    pipeline = Pipeline.load(args.model, cache_dir=CACHE)
    blend = pipeline.members["blend"]
    assert isinstance(blend, Blend) and blend.config.parts[BANK_PART].config.match == "bank"
    embedder, ctx = pipeline.embedder, pipeline.context
    cfg = BlendConfig().invert
    print(f"mean prompt: {pipeline.mean_prompt!r}")
    print("| scored on | bank part weight | vector SCS | string SCS, cold | 95% CI | string SCS, warm | 95% CI |")
    print("|---|---|---|---|---|---|---|")
    for tag, rows in held_out_sets(args.train, args.limit):
        f = Features.of(rows, embedder)
        assert f.prompt is not None
        parts = [p.predict_vectors(f, ctx) for p in blend.parts]  # once for every W
        truths = list(rows["rewrite_prompt"])
        extra = [[pipeline.mean_prompt]] * len(rows)  # what the pipeline offers a warm-started member
        for w in args.weights:
            weights = [s.weight for s in blend.config.parts]
            weights[BANK_PART] = w
            vectors = unit(sum(wi * v for wi, v in zip(weights, parts, strict=True)))
            cold = summarize(score_prompts(embedder, invert(embedder, vectors, ctx.bank, cfg), truths))
            warm = summarize(score_prompts(embedder, invert(embedder, vectors, ctx.bank, cfg, extra), truths))
            vec = scs(cosine_rows(vectors, f.prompt)).mean()
            print(
                f"| {tag} | {w:g} | {vec:.4f} | {cold.mean:.4f} | {cold.ci_low:.4f}-{cold.ci_high:.4f} "
                f"| {warm.mean:.4f} | {warm.ci_low:.4f}-{warm.ci_high:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
