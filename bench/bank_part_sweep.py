"""How much weight the blend's training-free bank part should get, in-source and cross-source (issue 18).

Trains the blend's default parts (retrieval k=20 weight 2, attention regression 1, MLP regression 1) and
a training-free part (retrieval ``match = "bank"``, k=20) once on ``--train`` (a source of
``cross_source.py``), with the pipeline's bank = the training prompts + the packaged osyuksel bank.
Then for each weight W of the bank part, the blend vector unit(2 r + a + m + W b) is inverted as the
blend does (default ``BlendConfig().invert``) on the held-out rows of every source, and scored (MiniLM
proxy, mean SCS of the string with a 95% CI, and the vector's SCS).

    .venv/bin/python bench/bank_part_sweep.py --train corpus 0 0.5 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from cross_source import CACHE, sources

from prompt_recovery import banks
from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import cosine_rows, scs, summarize
from prompt_recovery.pipeline import _bank_of
from prompt_recovery.predictors import Blend, Context, Features
from prompt_recovery.predictors.bank import PromptBank
from prompt_recovery.predictors.base import unit
from prompt_recovery.predictors.blend import BlendConfig
from prompt_recovery.predictors.invert import invert
from prompt_recovery.predictors.retrieval import Retrieval, RetrievalConfig
from prompt_recovery.scoring import score_prompts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", choices=["corpus", "stylerec", "gpt35"], default="corpus")
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    ap.add_argument("weights", nargs="+", type=float, help="weights of the bank part")
    args = ap.parse_args()
    data = sources(3000)
    embedder = load_embedder("minilm", cache_dir=CACHE)
    start = time.perf_counter()
    train_f = Features.of(data[args.train][0], embedder)
    extra = banks.read_bank("osyuksel")
    ctx = Context(embedder, _bank_of(train_f, PromptBank(extra, embedder.encode(extra))))
    blend = Blend()
    blend.fit(train_f, ctx)
    free = Retrieval(RetrievalConfig(k=20, match="bank"))
    print(f"trained on {args.train} ({len(train_f.rows)} rows) in {time.perf_counter() - start:.0f}s")
    print("| scored on | bank part weight | vector SCS | string SCS | 95% CI |")
    print("|---|---|---|---|---|")
    for name, (_, rows) in data.items():
        if args.limit and len(rows) > args.limit:
            rows = rows.sample(n=args.limit, random_state=0)
        rows = rows.reset_index(drop=True)
        f = Features.of(rows, embedder)
        assert f.prompt is not None
        # the weighted sum Blend.predict_vectors normalises, predicted once for every W
        raw = sum(s.weight * p.predict_vectors(f, ctx) for s, p in zip(blend.config.parts, blend.parts, strict=True))
        bank_part = free.predict_vectors(f, ctx)
        for w in args.weights:
            vectors = unit(raw + w * bank_part).astype(np.float32)
            texts = invert(embedder, vectors, ctx.bank, BlendConfig().invert)
            s = summarize(score_prompts(embedder, texts, list(rows["rewrite_prompt"])))
            vec = scs(cosine_rows(vectors, f.prompt)).mean()
            tag = f"{name} (in-source)" if name == args.train else name
            print(f"| {tag} | {w:g} | {vec:.4f} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} |", flush=True)


if __name__ == "__main__":
    main()
