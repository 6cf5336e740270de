"""Training-free retrieval over a prompt bank (issue 18): no labelled rows, only known prompts.

For each bank (``osyuksel``: the packaged 9,205 prompts; ``corpus``: the distinct prompts of the corpus
train split; ``both``: the two joined) and each evaluation set (the corpus validation split, StyleRec
test rows from ../shared/data/external), rank the bank by cos(E(prompt), unit(E(rewritten) -
E(original))) and score, MiniLM proxy with 95% CI:

- ``top1``: the single best bank prompt as the string;
- ``vector``: the normalised mean of the top-``k`` prompt vectors, scored as a vector (no string: the
  ceiling the inversion works toward);
- ``inverted``: that vector inverted to a string (default ``InvertConfig``: what ``predict --bank`` writes);
- ``inv+med``: the inverted string followed by the medoid (the ensemble join with the mean prompt);
- ``medoid``: the bank's medoid prompt for every row (the training-free mean prompt).

    .venv/bin/python bench/bank_retrieval.py [--banks osyuksel both] [--limit 200] [--k 20]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED, require_shared

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
COLUMNS = ["original_text", "rewritten_text", "rewrite_prompt"]
DEFAULT_CACHE = Path(os.environ.get("PROMPT_RECOVERY_CACHE", Path.home() / ".cache" / "prompt-recovery"))


def data() -> tuple[list[str], dict[str, pd.DataFrame]]:
    """(corpus train prompts, {evaluation set: rows})."""
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    split = corpus["id"].map(pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"])
    style = pd.read_csv(
        require_shared(SHARED / "data" / "external" / "stylerec" / "final_test_data.csv"),
        sep="\t",
        dtype=str,
        keep_default_na=False,
    ).rename(columns={"original_sentence": "original_text", "result_sentence": "rewritten_text"})
    style = style.rename(columns={"style_prompt": "rewrite_prompt"})
    sets = {
        "corpus-validation": corpus.loc[split == "validation", COLUMNS],
        "stylerec-test": style[COLUMNS].sample(frac=1.0, random_state=0),
    }
    prompts = list(dict.fromkeys(corpus.loc[split == "train", "rewrite_prompt"].str.strip()))
    return prompts, {name: rows.reset_index(drop=True) for name, rows in sets.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--banks", nargs="+", default=["osyuksel", "corpus", "both"], choices=["osyuksel", "corpus", "both"]
    )
    ap.add_argument("--limit", type=int, default=200, help="rows per evaluation set (0: all)")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    args = ap.parse_args()

    from prompt_recovery.banks import read_bank
    from prompt_recovery.metric import row_scores, summarize
    from prompt_recovery.pipeline import training_free
    from prompt_recovery.predictors import Features
    from prompt_recovery.scoring import score_prompts

    corpus_prompts, sets = data()
    if args.limit:
        sets = {name: rows.head(args.limit) for name, rows in sets.items()}
    texts = {"osyuksel": read_bank("osyuksel"), "corpus": corpus_prompts}
    texts["both"] = [*texts["corpus"], *texts["osyuksel"]]
    print(f"{'bank':<9} {'prompts':>7} {'rows':<23} {'method':<9} {'mean SCS':>8}  95% CI")
    for bank_name in args.banks:
        t0 = time.perf_counter()
        pipe = training_free(texts[bank_name], k=args.k, cache_dir=args.cache_dir)
        ctx, member, bank = pipe.context, pipe.members["retrieval"], pipe.bank
        for set_name, rows in sets.items():
            f = Features.of(rows, pipe.embedder)
            truths = list(rows["rewrite_prompt"])
            top1 = [bank.texts[j] for j in np.argmax(np.round(f.edit @ bank.vectors.T, 6), axis=1)]
            vectors = member.predict_vectors(f, ctx)  # type: ignore[attr-defined]
            inverted = member.predict(f, ctx)
            results = {
                "top1": score_prompts(pipe.embedder, top1, truths),
                "vector": row_scores(vectors, pipe.embedder.encode(truths)),
                "inverted": score_prompts(pipe.embedder, inverted, truths),
                "inv+med": score_prompts(pipe.embedder, [f"{t} {pipe.mean_prompt}" for t in inverted], truths),
                "medoid": score_prompts(pipe.embedder, [pipe.mean_prompt] * len(rows), truths),
            }
            for method, scores in results.items():
                s = summarize(scores)
                print(
                    f"{bank_name:<9} {len(bank):>7} {set_name + f' ({len(rows)})':<23} {method:<9} {s.mean:>8.4f}  "
                    f"[{s.ci_low:.4f}, {s.ci_high:.4f}]",
                    flush=True,
                )
        print(f"# {bank_name}: {time.perf_counter() - t0:.0f}s; medoid {pipe.mean_prompt!r}", flush=True)


if __name__ == "__main__":
    main()
