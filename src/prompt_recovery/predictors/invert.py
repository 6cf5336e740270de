"""Inversion: turn predicted prompt embeddings back into strings.

For each row the candidates are the ``pool`` known prompts (the training prompts) closest to the row's
predicted vector, plus any strings the caller adds (other predictors' outputs, the mean prompt). Then:

1. ``join`` > 1: greedily concatenate up to ``join`` candidates while the string's score against the
   vector rises. Under mean pooling a concatenation sits between its parts, so two or three prompts
   joined land nearer an averaged vector than any one of them (on the corpus validation split, the
   retrieval vector's best single training prompt scores 0.070, three joined 0.079). All rows advance
   in step, one ``encode`` call per round: on 100 corpus validation rows this gave the same strings as
   a row-by-row loop, 2.9x faster in a side-by-side run;
2. ``steps`` > 0: that many rounds of batched token search (append/replace, ``search/batched.py``)
   from the joined string toward the vector, all rows in step; ``top_k`` edits per row per round are
   scored exactly. The edited strings are lower-cased word pieces when the tokenizer is uncased, and
   some edits are not words ("gossipy" -> "hires, gossipy"): they move the string toward the vector,
   and, measured, toward the true prompts when the vector is better than the joined string: the blend
   (then retrieval and attention regression 1:1, vector 0.1351) rose from 0.0971 to 0.1014 on the
   corpus validation split (``blend.py``), while the MLP regression (vector 0.0744, joined string
   0.0857) fell to 0.0796 (``bench/quality.py --source corpus`` with a second regression member at
   ``invert_steps = 10``). Joining real prompts acts as a prior that refinement gives up, which is
   why only the blend refines by default. ``anchor`` > 0 keeps part of that prior: the search aims at
   unit(v + anchor * E(joined)) instead of v. Measured on the blend (``blend.py``), 0.25 tied on the
   corpus and lost 0.004 on the public split, so it is off by default everywhere; it makes refinement
   ~1.8x faster.

Every candidate is scored exactly, as a string.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT
from prompt_recovery.search.batched import RefineConfig, refine

logger = logging.getLogger(__name__)


def greedy_join(embedder: Embedder, vectors: np.ndarray, candidates: list[list[str]], join: int) -> list[str]:
    """Per row i, concatenate up to ``join`` of ``candidates[i]`` greedily while the score against
    ``vectors[i]`` rises. All rows advance together, so each round is one large ``encode`` call
    (batching across rows is what makes inversion cheap per row)."""
    chosen: list[list[str]] = [[] for _ in candidates]
    best = np.full(len(candidates), -1.0)
    active = [i for i, c in enumerate(candidates) if c]
    for _ in range(max(1, join)):
        trials: list[str] = []
        owners: list[tuple[int, str]] = []
        for i in active:
            for c in candidates[i]:
                if c not in chosen[i]:
                    trials.append(" ".join([*chosen[i], c]))
                    owners.append((i, c))
        if not trials:
            break
        embs = embedder.encode(trials, use_cache=False)
        rows = np.array([i for i, _ in owners])
        scores = np.abs(np.einsum("nd,nd->n", embs, vectors[rows])) ** EXPONENT
        top: dict[int, tuple[float, str]] = {}
        for (i, c), score in zip(owners, scores, strict=True):
            if i not in top or score > top[i][0]:
                top[i] = (float(score), c)
        active = []
        for i, (score, c) in top.items():
            if score > best[i]:
                chosen[i].append(c)
                best[i] = score
                active.append(i)
    return [" ".join(c) for c in chosen]


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
    top_k: int = 8,
    anchor: float = 0.0,
) -> list[str]:
    """Best string per row for ``vectors`` [N, D] (unit). ``extra[i]`` adds candidates for row i.

    ``anchor`` > 0 refines toward unit(v + anchor * E(joined string)) instead of v: the joined real
    prompts stay a prior that the token search trades against the predicted vector."""
    scores = np.abs(vectors @ bank_vecs.T) ** EXPONENT  # [N, B]
    top = np.argsort(-scores, axis=1)[:, :pool]
    candidates = [
        list(dict.fromkeys([bank[j] for j in top[i]] + [s for s in (extra[i] if extra else []) if s]))
        for i in range(len(vectors))
    ]
    out = greedy_join(embedder, vectors, candidates, join)
    return refine_joined(embedder, vectors, out, steps, top_k, anchor, cache_dir) if steps > 0 else out


def refine_joined(
    embedder: Embedder,
    vectors: np.ndarray,
    joined: list[str],
    steps: int,
    top_k: int = 8,
    anchor: float = 0.0,
    cache_dir: str | None = None,
) -> list[str]:
    """``steps`` rounds of batched refinement of ``joined[i]`` toward ``vectors[i]`` ([N, D], unit), or
    toward unit(v + anchor * E(joined)) when ``anchor`` > 0. An encoder the pooled estimate cannot
    serve keeps the joins (logged)."""
    targets = vectors
    if anchor > 0:
        mixed = vectors + anchor * embedder.encode(joined, use_cache=False)
        targets = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-8)
    try:
        out, _ = refine(embedder, targets, joined, RefineConfig(steps=steps, top_k=top_k), cache_dir=cache_dir)
    except NotImplementedError as exc:
        logger.warning("inversion steps skipped: %s", exc)
        return list(joined)
    return out


def invert_member(
    options: dict[str, Any],
    embedder: Embedder,
    vectors: np.ndarray,
    bank: list[str],
    bank_vecs: np.ndarray,
    extra: list[list[str]] | None = None,
    default_steps: int = 0,
    default_anchor: float = 0.0,
) -> list[str]:
    """``invert`` with a member's options: ``join`` (3), ``pool`` (12), ``invert_steps``
    (``default_steps``), ``invert_top_k`` (8), ``invert_anchor`` (``default_anchor``) and ``cache_dir``
    (where single-token states are kept)."""
    return invert(
        embedder,
        vectors,
        bank,
        bank_vecs,
        extra=extra,
        steps=int(options.get("invert_steps", default_steps)),
        join=int(options.get("join", 3)),
        pool=int(options.get("pool", 12)),
        cache_dir=options.get("cache_dir"),
        top_k=int(options.get("invert_top_k", 8)),
        anchor=float(options.get("invert_anchor", default_anchor)),
    )
