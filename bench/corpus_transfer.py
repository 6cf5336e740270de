"""Does training on the project's corpus transfer better than training on the public triples? (issue 7)

Two training sources, two validation sets, three simple predictors, MiniLM proxy scores (mean |cos|^3):

- sources: ``corpus`` = data/corpus train split; ``public`` = StyleRec train + 80% of the GPT-3.5 triples
  (alexsaavedraa) from ../shared/data/external/combined_triples.csv;
- validation: ``corpus val`` = data/corpus validation split (unseen prompts and texts); ``public val`` =
  the other 20% of the GPT-3.5 triples (every prompt unseen);
- predictors (the library's own, ``prompt_recovery.predictors``): the constant mean prompt (guided
  token search on the source's prompts), retrieval (top-20 neighbours by the edit direction
  E(rewritten) - E(original): the mean of their prompt embeddings as a vector, and that vector inverted
  to a string by joining up to 3 training prompts),
  and the regression MLP (its vector, and that vector inverted the same way).
  Vector rows are scored in embedding space (what an ideal inversion would keep), strings as strings.

The mean prompt stops by the library's deterministic rule (``ConstantConfig``: 32 steps, patience 4,
top-k 128) unless ``--search-seconds`` caps its wall time (measurements before commit ba53d63 used 60 s).

    .venv/bin/python bench/corpus_transfer.py [--search-seconds 60] [--limit N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED, require_shared

from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import cosine_rows, scs
from prompt_recovery.pipeline import _bank_of
from prompt_recovery.predictors import Constant, Context, Features, Regression, Retrieval
from prompt_recovery.predictors.constant import ConstantConfig
from prompt_recovery.predictors.retrieval import RetrievalConfig
from prompt_recovery.scoring import score_prompts

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def load_sets(seed: int = 0) -> dict[str, pd.DataFrame]:
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    split = pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"]
    corpus["split"] = corpus["id"].map(split)
    public = pd.read_csv(
        require_shared(SHARED / "data/external/combined_triples.csv"), dtype=str, keep_default_na=False
    )
    gpt = public[public.source == "alexsaavedraa"].sample(frac=1.0, random_state=seed)
    cut = int(0.8 * len(gpt))
    style = public[(public.source == "stylerec") & public.file.str.contains("train")]
    return {
        "corpus": corpus[corpus.split == "train"],
        "public": pd.concat([style, gpt.iloc[:cut]]),
        "corpus val": corpus[corpus.split == "validation"],
        "public val": gpt.iloc[cut:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--search-seconds", type=float, default=None, help="wall-time cap of the mean-prompt search")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None, help="the first N rows of each set only (smoke runs)")
    args = parser.parse_args()

    emb = load_embedder("minilm", cache_dir=".cache/bench")
    sets = {name: df.reset_index(drop=True).iloc[: args.limit] for name, df in load_sets().items()}
    feats = {name: Features.of(df, emb, show_progress=True) for name, df in sets.items()}
    print({name: len(df) for name, df in sets.items()})
    rows = []
    for source in ("corpus", "public"):
        ctx = Context(emb, _bank_of(feats[source]))  # the source's prompts: the inversion's candidates
        constant = Constant(ConstantConfig(search_seconds=args.search_seconds))
        retrieval = Retrieval(RetrievalConfig(k=args.k))
        regression = Regression()
        for predictor in (constant, retrieval, regression):
            predictor.fit(feats[source], ctx)
        for val in ("corpus val", "public val"):
            va = feats[val]
            assert va.prompt is not None
            truth = list(va.rows.rewrite_prompt)

            def as_string(texts: list[str], truth: list[str] = truth) -> np.ndarray:
                return score_prompts(emb, texts, truth)

            def as_vector(vectors: np.ndarray, prompt: np.ndarray = va.prompt) -> np.ndarray:
                return scs(cosine_rows(vectors, prompt))

            results = {
                "mean prompt (string)": as_string(constant.predict(va, ctx)),
                "retrieval, vector inverted: 3 train prompts joined (string)": as_string(retrieval.predict(va, ctx)),
                f"retrieval mean of top-{args.k} (vector)": as_vector(retrieval.predict_vectors(va, ctx)),
                "regression MLP (vector)": as_vector(regression.predict_vectors(va, ctx)),
                "regression MLP, vector inverted the same way (string)": as_string(regression.predict(va, ctx)),
            }
            for predictor_name, s in results.items():
                rows.append({"predictor": predictor_name, "trained on": source, "scored on": val, "mean SCS": s.mean()})
    table = pd.DataFrame(rows).pivot_table(index=["predictor", "trained on"], columns="scored on", values="mean SCS")
    print("| predictor | trained on | " + " | ".join(table.columns) + " |")
    print("|---|---|" + "---|" * len(table.columns))
    for (predictor_name, source), values in table.iterrows():
        print(f"| {predictor_name} | {source} | " + " | ".join(f"{v:.4f}" for v in values) + " |")


if __name__ == "__main__":
    main()
