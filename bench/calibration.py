"""Calibration with a known answer on the project's corpus (issue 6), MiniLM proxy.

A hidden "leaderboard" subset of the corpus over-represents two prompt families (form, persona_voice).
Eight probe prompts are scored on that hidden subset (as a leaderboard would score them); the whole
corpus is then calibrated against those probe scores. Printed: each probe's fit before (uniform pool)
and after (weighted pool), the effective sample size, and, for fresh prompts never used in calibration,
how far the uniform and the weighted pool are from the hidden subset's scores.

    .venv/bin/python bench/calibration.py [--spread 1e-3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spread", type=float, default=1e-3)
    args = parser.parse_args()
    df = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    favoured = df.prompt_family.isin(["form", "persona_voice"]).to_numpy()
    hidden = df[np.where(favoured, rng.uniform(size=len(df)) < 0.9, rng.uniform(size=len(df)) < 0.2)]
    emb = load_embedder("minilm", cache_dir=".cache/bench")
    targets = probe_matrix(emb, PROBES, list(hidden.rewrite_prompt)).mean(axis=0)
    result = calibrate(emb, PROBES, targets, list(df.rewrite_prompt), spread=args.spread)
    print(
        f"pool {len(df)} rows; hidden subset {len(hidden)} rows ({favoured[hidden.index].mean():.0%} favoured families)"
    )
    print("| probe | hidden-subset score | uniform pool | weighted pool |")
    print("|---|---|---|---|")
    for prompt, target, uniform, weighted in result.table.itertuples(index=False):
        print(f"| {prompt[:48]} | {target:.4f} | {uniform:.4f} | {weighted:.4f} |")
    print(
        f"RMS fit error: uniform {result.fit_error('uniform'):.4f} -> weighted {result.fit_error('calibrated'):.4f}; "
        f"effective sample size {result.ess:.0f} of {len(df)}"
    )
    s = probe_matrix(emb, FRESH, list(df.rewrite_prompt))
    truth = probe_matrix(emb, FRESH, list(hidden.rewrite_prompt)).mean(axis=0)
    uni = np.abs(s.mean(axis=0) - truth).mean()
    wei = np.abs((s * result.weights[:, None]).mean(axis=0) - truth).mean()
    print(f"fresh prompts, mean |error| vs the hidden subset: uniform {uni:.4f} -> weighted {wei:.4f}")
    share = result.weights[favoured].sum() / len(df)
    print(f"weight share of favoured families: uniform {favoured.mean():.0%} -> weighted {share:.0%}")


if __name__ == "__main__":
    main()
