"""Calibration with a known answer on the project's corpus (issue 6), MiniLM proxy.

A hidden "leaderboard" subset of the corpus over-represents two prompt families (form, persona_voice).
Eight probe prompts are scored on that hidden subset (as a leaderboard would score them); the whole
corpus is then calibrated against those probe scores. Printed: each probe's fit before (uniform pool)
and after (weighted pool), the effective sample size, and, for fresh prompts never used in calibration,
how far the uniform and the weighted pool are from the hidden subset's scores.

    .venv/bin/python bench/calibration.py [--spread 1e-3] [--smoke]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from harness import CACHE, start

from prompt_recovery.calibrate import calibrate, probe_matrix
from prompt_recovery.embed import load_embedder

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "corpus.csv"
PROBES = [
    "Improve the following text using the writing style of, maintaining the original meaning but altering the "
    "tone, diction, and stylistic elements to match the new style.",
    "Rewrite the text to reflect existing themes, provide a concise and engaging narration, and improvise "
    "passages to enhance its prose.",
    "Rewrite this as a poem.",
    "Make it more formal.",
    "Summarize the text.",
    "Rewrite it in the voice of a pirate.",
    "Make it sound angry.",
    "Explain it to a child.",
]
FRESH = [
    "Turn this into a song with a chorus.",
    "Rewrite the text as if Shakespeare wrote it.",
    "Make the text more polite.",
    "Write this as a limerick.",
    "Shorten it to one sentence.",
    "Rewrite it for a business audience.",
]


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spread", type=float, default=1e-3)
    parser.add_argument("--rows", type=int, default=0, help="corpus rows drawn (seeded; 0: all)")


def main() -> None:
    run = start("calibration", __doc__, options, smoke={"rows": 300})
    df = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    if run.args.rows:
        df = df.sample(n=run.args.rows, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)
    favoured = df.prompt_family.isin(["form", "persona_voice"]).to_numpy()
    hidden = df[np.where(favoured, rng.uniform(size=len(df)) < 0.9, rng.uniform(size=len(df)) < 0.2)]
    emb = load_embedder("minilm", cache_dir=CACHE)
    with run.timed("calibrate"):
        targets = probe_matrix(emb, PROBES, list(hidden.rewrite_prompt)).mean(axis=0)
        result = calibrate(emb, PROBES, targets, list(df.rewrite_prompt), spread=run.args.spread)
    run.note(
        f"pool {len(df)} rows; hidden subset {len(hidden)} rows ({favoured[hidden.index].mean():.0%} favoured families)"
    )
    t = result.table
    rows = [
        [p[:48], round(float(a), 4), round(float(b), 4), round(float(c), 4)]
        for p, a, b, c in zip(t.prompt, t.target, t.uniform, t.calibrated, strict=True)
    ]
    run.table("probe scores", ["probe", "hidden-subset score", "uniform pool", "weighted pool"], rows)
    s = probe_matrix(emb, FRESH, list(df.rewrite_prompt))
    truth = probe_matrix(emb, FRESH, list(hidden.rewrite_prompt)).mean(axis=0)
    run.numbers = {
        "pool_rows": len(df),
        "hidden_rows": len(hidden),
        "rms_fit_error_uniform": round(float(result.fit_error("uniform")), 4),
        "rms_fit_error_weighted": round(float(result.fit_error("calibrated")), 4),
        "effective_sample_size": round(float(result.ess)),
        "fresh_error_uniform": round(float(np.abs(s.mean(axis=0) - truth).mean()), 4),
        "fresh_error_weighted": round(float(np.abs((s * result.weights[:, None]).mean(axis=0) - truth).mean()), 4),
        "favoured_share_uniform": round(float(favoured.mean()), 3),
        "favoured_share_weighted": round(float(result.weights[favoured].sum() / len(df)), 3),
    }
    run.save()


if __name__ == "__main__":
    main()
