"""Quality of a pipeline on data it never trained on (issue 5): every member's mean SCS with a 95% CI,
the ensemble, and the members' vectors scored in embedding space (MiniLM proxy).

Sources (``--source``):

- ``corpus``: train on the corpus train split, score on its validation split (unseen prompts and texts);
- ``public``: train on StyleRec train + 80% of the GPT-3.5 triples from ../shared/data/external, score on
  the other 20% (every prompt unseen). Needs ../shared.

The pipeline is ``--config`` (a TOML file) or the library's default (``PipelineConfig()``).

    .venv/bin/python bench/quality.py --source corpus [--config data/demo/pipeline.toml] [--limit N --train-limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from common import SHARED, require_shared

from prompt_recovery.metric import cosine_rows, scs, summarize
from prompt_recovery.pipeline import PipelineConfig, train
from prompt_recovery.predictors import Features, VectorPredictor
from prompt_recovery.scoring import score_prompts

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CACHE = ".cache/bench"


def load(source: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    if source == "corpus":
        corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
        split = corpus["id"].map(pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"])
        return corpus[split == "train"], corpus[split == "validation"]
    public = pd.read_csv(
        require_shared(SHARED / "data/external/combined_triples.csv"), dtype=str, keep_default_na=False
    )
    gpt = public[public.source == "alexsaavedraa"].sample(frac=1.0, random_state=seed)
    cut = int(0.8 * len(gpt))
    style = public[(public.source == "stylerec") & public.file.str.contains("train")]
    return pd.concat([style, gpt.iloc[:cut]]), gpt.iloc[cut:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", choices=["corpus", "public"], default="corpus")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out rows (smoke runs)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N rows (smoke runs)")
    args = parser.parse_args()
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    train_rows, test_rows = load(args.source)
    train_rows = train_rows.reset_index(drop=True).iloc[: args.train_limit]
    test_rows = test_rows.reset_index(drop=True).iloc[: args.limit]
    start = time.perf_counter()
    pipeline = train(train_rows, config, cache_dir=CACHE)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    ensemble, outputs = pipeline.predict(test_rows, every_member=True)
    predicted = time.perf_counter() - start
    truth = list(test_rows["rewrite_prompt"])
    emb, ctx = pipeline.embedder, pipeline.context
    features = Features.of(test_rows, emb)
    assert features.prompt is not None
    print(
        f"source {args.source}: trained on {len(train_rows)} rows in {trained:.0f}s, "
        f"predicted {len(test_rows)} held-out rows in {predicted:.0f}s; ensemble order {pipeline.order}"
    )
    print("| predictor | mean SCS (string) | 95% CI | vector SCS |")
    print("|---|---|---|---|")
    for name in [*pipeline.members, "ensemble"]:
        texts = ensemble if name == "ensemble" else [t or "(blank: falls back)" for t in outputs[name]]
        s = summarize(score_prompts(emb, texts, truth))
        member = pipeline.members.get(name)
        vectors = member.predict_vectors(features, ctx) if isinstance(member, VectorPredictor) else None
        vec = "" if vectors is None else f"{scs(cosine_rows(vectors, features.prompt)).mean():.4f}"
        print(f"| {name} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} | {vec} |")


if __name__ == "__main__":
    main()
