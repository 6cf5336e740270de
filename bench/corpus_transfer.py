"""Does training on the project's corpus transfer better than training on the public triples? (issue 7)

Two training sources, two validation sets, three simple predictors, MiniLM proxy scores (mean |cos|^3):

- sources: ``corpus`` = data/corpus train split; ``public`` = StyleRec train + 80% of the GPT-3.5 triples
  (alexsaavedraa) from ../shared/data/external/combined_triples.csv;
- validation: ``corpus val`` = data/corpus validation split (unseen prompts and texts); ``public val`` =
  the other 20% of the GPT-3.5 triples (every prompt unseen);
- predictors: ``mean prompt`` (guided token search on the source's prompts; a string), ``retrieval``
  (top-20 neighbours by E(rewritten) - E(original); the nearest neighbour's prompt as a string, and
  the mean of the 20 prompt embeddings as a vector), ``ridge`` (linear map from [E(orig), E(rew),
  E(rew) - E(orig)] to E(prompt); a vector). Vector rows are scored in embedding space (the score an
  ideal inversion would keep), string rows as strings.

    .venv/bin/python bench/corpus_transfer.py [--search-seconds 120]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED, require_shared

from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import cosine_rows, scs
from prompt_recovery.search import MeanSCS, SearchConfig, search

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


def features(emb, df: pd.DataFrame) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    o = emb.encode(list(df.original_text), show_progress=True)
    r = emb.encode(list(df.rewritten_text), show_progress=True)
    p = emb.encode(list(df.rewrite_prompt), show_progress=True)
    return {"o": o, "r": r, "p": p, "x": np.hstack([o, r, r - o])}


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--search-seconds", type=float, default=120)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--ridge", type=float, default=10.0)
    args = parser.parse_args()

    emb = load_embedder("minilm", cache_dir=".cache/bench")
    sets = load_sets()
    feats = {name: features(emb, df) for name, df in sets.items()}
    print({name: len(df) for name, df in sets.items()})
    rows = []
    for source in ("corpus", "public"):
        tr, tr_df = feats[source], sets[source]
        cfg = SearchConfig(
            max_added_tokens=48,
            moves=("append", "replace", "insert"),
            top_k=256,
            time_budget=args.search_seconds,
            patience=6,
            cache_dir=".cache/bench",
        )
        mean_prompt = search(emb, MeanSCS(tr["p"]), cfg).text
        mp_vec = emb.encode([mean_prompt])
        d_tr = unit(tr["r"] - tr["o"])
        x_mu, x_sd = tr["x"].mean(0), tr["x"].std(0) + 1e-6
        xs = (tr["x"] - x_mu) / x_sd
        w = np.linalg.solve(xs.T @ xs + args.ridge * np.eye(xs.shape[1]), xs.T @ tr["p"])
        for val in ("corpus val", "public val"):
            va = feats[val]
            n = len(va["p"])
            sims = unit(va["r"] - va["o"]) @ d_tr.T
            top = np.argsort(-sims, axis=1)[:, : args.k]
            nearest = [tr_df.rewrite_prompt.iloc[i] for i in top[:, 0]]
            results = {
                "mean prompt (string)": scs(cosine_rows(np.repeat(mp_vec, n, axis=0), va["p"])),
                "retrieval top-1 (string)": scs(cosine_rows(emb.encode(nearest), va["p"])),
                f"retrieval top-{args.k} mean (vector)": scs(cosine_rows(unit(tr["p"][top].mean(1)), va["p"])),
                "ridge (vector)": scs(cosine_rows(((va["x"] - x_mu) / x_sd) @ w, va["p"])),
            }
            for predictor, s in results.items():
                rows.append({"predictor": predictor, "trained on": source, "scored on": val, "mean SCS": s.mean()})
    table = pd.DataFrame(rows).pivot_table(index=["predictor", "trained on"], columns="scored on", values="mean SCS")
    print("| predictor | trained on | " + " | ".join(table.columns) + " |")
    print("|---|---|" + "---|" * len(table.columns))
    for (predictor, source), values in table.iterrows():
        print(f"| {predictor} | {source} | " + " | ".join(f"{v:.4f}" for v in values) + " |")


if __name__ == "__main__":
    main()
