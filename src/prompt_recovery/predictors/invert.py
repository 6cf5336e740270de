"""Inversion: turn predicted prompt embeddings back into strings.

For each row, candidates are a bank of known prompt strings (the training prompts) plus any strings
the caller adds (other predictors' outputs, the mean prompt); the candidate closest to the row's
predicted vector wins, and ``steps`` rounds of guided token search (append/replace against that one
vector) can then refine it. Candidates are scored exactly, as strings.
"""

from __future__ import annotations

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT
from prompt_recovery.search import SearchConfig, TargetSCS, search


def invert(
    embedder: Embedder,
    vectors: np.ndarray,
    bank: list[str],
    bank_vecs: np.ndarray,
    extra: list[list[str]] | None = None,
    steps: int = 0,
    cache_dir: str | None = None,
) -> list[str]:
    """Best string per row for ``vectors`` [N, D] (unit). ``extra[i]`` adds candidates for row i."""
    scores = np.abs(vectors @ bank_vecs.T) ** EXPONENT  # [N, B]
    best = [bank[j] for j in scores.argmax(axis=1)]
    best_score = scores.max(axis=1)
    if extra:
        flat = sorted({s for row in extra for s in row if s})
        if flat:
            where = {s: i for i, s in enumerate(flat)}
            vecs = embedder.encode(flat)
            for i, row in enumerate(extra):
                for s in row:
                    if s and (value := float(abs(vecs[where[s]] @ vectors[i]) ** EXPONENT)) > best_score[i]:
                        best[i], best_score[i] = s, value
    if steps > 0:
        config = SearchConfig(
            moves=("append", "replace"), top_k=48, max_added_tokens=steps, patience=2, cache_dir=cache_dir
        )
        best = [search(embedder, TargetSCS(v), config, init=s).text for v, s in zip(vectors, best, strict=True)]
    return best
