"""Inversion: turn predicted prompt embeddings back into strings.

For each row the candidates are the ``pool`` known prompts (the training prompts) closest to the row's
predicted vector, plus any strings the caller adds (other predictors' outputs, the mean prompt). Then:

1. ``join`` > 1: greedily concatenate up to ``join`` candidates while the string's score against the
   vector rises. Under mean pooling a concatenation sits between its parts, so two or three prompts
   joined land nearer an averaged vector than any one of them (on the corpus validation split, the
   retrieval vector's best single training prompt scores 0.070, three joined 0.079);
2. ``steps`` > 0: that many rounds of guided token search (append/replace) against the vector.

Every candidate is scored exactly, as a string.
"""

from __future__ import annotations

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT
from prompt_recovery.search import SearchConfig, TargetSCS, search


def _greedy_join(embedder: Embedder, vector: np.ndarray, candidates: list[str], join: int) -> str:
    chosen: list[str] = []
    best = -1.0
    for _ in range(join):
        left = [c for c in candidates if c not in chosen]
        if not left:
            break
        trials = [" ".join([*chosen, c]) for c in left]
        scores = np.abs(embedder.encode(trials, use_cache=False) @ vector) ** EXPONENT
        k = int(scores.argmax())
        if scores[k] <= best:
            break
        chosen, best = [*chosen, left[k]], float(scores[k])
    return " ".join(chosen)


def invert(
    embedder: Embedder,
    vectors: np.ndarray,
    bank: list[str],
    bank_vecs: np.ndarray,
    extra: list[list[str]] | None = None,
    steps: int = 0,
    join: int = 1,
    pool: int = 12,
    cache_dir: str | None = None,
) -> list[str]:
    """Best string per row for ``vectors`` [N, D] (unit). ``extra[i]`` adds candidates for row i."""
    scores = np.abs(vectors @ bank_vecs.T) ** EXPONENT  # [N, B]
    top = np.argsort(-scores, axis=1)[:, :pool]
    out = []
    for i, vector in enumerate(vectors):
        candidates = list(dict.fromkeys([bank[j] for j in top[i]] + [s for s in (extra[i] if extra else []) if s]))
        out.append(_greedy_join(embedder, vector, candidates, max(1, join)))
    if steps > 0:
        config = SearchConfig(
            moves=("append", "replace"), top_k=48, max_added_tokens=steps, patience=2, cache_dir=cache_dir
        )
        out = [search(embedder, TargetSCS(v), config, init=s).text for v, s in zip(vectors, out, strict=True)]
    return out
