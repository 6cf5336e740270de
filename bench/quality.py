"""Quality of a pipeline on data it never trained on (issue 5): every member's mean SCS with a 95% CI,
the ensemble, and the members' vectors scored in embedding space (MiniLM proxy).

Sources (``--source``):

- ``corpus``: train on the corpus train split, score on its validation split (unseen prompts and texts);
- ``public``: train on StyleRec train + 80% of the GPT-3.5 triples from ../shared/data/external, score on
  the other 20% (every prompt unseen). Needs ../shared (a smoke run trains and scores on data/demo).

The pipeline is ``--config`` (a TOML file) or the library's default (``PipelineConfig()``).

    .venv/bin/python bench/quality.py --source corpus [--config data/demo/pipeline.toml] [--limit N --train-limit N]
    .venv/bin/python bench/quality.py --source corpus --smoke
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from harness import CACHE, ROOT, start

from data import corpus, demo, public
from prompt_recovery.metric import cosine_rows, scs, summarize
from prompt_recovery.pipeline import PipelineConfig, train
from prompt_recovery.predictors import Features, VectorPredictor
from prompt_recovery.scoring import score_prompts

SMOKE = {"limit": 20, "train_limit": 100, "config": ROOT / "bench" / "smoke.toml"}


def load(source: str, run, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """(training rows, held-out rows) of ``source``; ``public`` at smoke size: the demo set."""
    if source == "corpus":
        return corpus()
    triples = public(run)
    if triples is None:
        return demo()
    gpt = triples[triples.source == "alexsaavedraa"].sample(frac=1.0, random_state=seed)
    cut = int(0.8 * len(gpt))
    style = triples[(triples.source == "stylerec") & triples.file.str.contains("train")]
    return pd.concat([style, gpt.iloc[:cut]]), gpt.iloc[cut:]


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=["corpus", "public"], default="corpus")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out rows (smoke runs)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N rows (smoke runs)")


def main() -> None:
    run = start("quality", __doc__, options, smoke=SMOKE)
    args = run.args
    run.variant = args.source
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    train_rows, test_rows = load(args.source, run)
    train_rows = train_rows.reset_index(drop=True).iloc[: args.train_limit]
    test_rows = test_rows.reset_index(drop=True).iloc[: args.limit]
    with run.timed("train"):
        pipeline = train(train_rows, config, cache_dir=CACHE)
    with run.timed("predict every member"):
        ensemble, outputs = pipeline.predict(test_rows, every_member=True)
    truth = list(test_rows["rewrite_prompt"])
    emb, ctx = pipeline.embedder, pipeline.context
    features = Features.of(test_rows, emb)
    assert features.prompt is not None
    rows = []
    for name in [*pipeline.members, "ensemble"]:
        texts = ensemble if name == "ensemble" else [t or "(blank: falls back)" for t in outputs[name]]
        s = summarize(score_prompts(emb, texts, truth))
        member = pipeline.members.get(name)
        vectors = member.predict_vectors(features, ctx) if isinstance(member, VectorPredictor) else None
        vec = "" if vectors is None else round(float(scs(cosine_rows(vectors, features.prompt)).mean()), 4)
        rows.append([name, round(s.mean, 4), f"{s.ci_low:.4f}-{s.ci_high:.4f}", vec])
    title = f"source {args.source}: trained on {len(train_rows)} rows, {len(test_rows)} held-out rows"
    run.table(title, ["predictor", "mean SCS (string)", "95% CI", "vector SCS"], rows)
    run.numbers = {
        "train_rows": len(train_rows),
        "heldout_rows": len(test_rows),
        "ensemble": pipeline.order,
        "scores": {r[0]: r[1] for r in rows},
    }
    run.save()


if __name__ == "__main__":
    main()
