"""Inversion: turn predicted prompt embeddings back into strings.

For each row the candidates are the ``pool`` bank prompts closest to the row's predicted vector, plus
any strings the caller adds (other members' outputs, the mean prompt). Then:

1. ``join`` > 1: greedily concatenate up to ``join`` candidates while the string's score against the
   vector rises (under mean pooling a concatenation sits between its parts, so two or three prompts
   joined land nearer an averaged vector than any one). All rows advance in step, one ``encode`` call
   per round; the first round scores bank prompts from the bank's own vectors.
2. ``steps`` > 0: that many rounds of batched token search (``search/batched.py``) from the joined
   string toward the vector, or toward unit(v + ``anchor`` * E(joined)) when ``anchor`` > 0 (the joined
   real prompts then stay a prior the search trades against the vector).

Every comparison follows the tie rule of ``metric.py``: scores within ``TIE_TOLERANCE`` are equal and
the earlier candidate (closer in the bank, or already chosen) wins, so no result depends on batch
composition or thread count. Measurements behind the defaults: ``docs/decisions.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from prompt_recovery.banks import PromptBank
from prompt_recovery.embed import Embedder
from prompt_recovery.metric import beats, best_index, rank, row_scores
from prompt_recovery.search.batched import RefineConfig, refine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvertConfig:
    """How a predicted vector becomes a string. In TOML: ``invert = {join = 3, steps = 10}``."""

    join: int = 3  # up to this many bank prompts concatenated while the score rises
    pool: int = 12  # bank prompts per row offered to the join
    join_trials: int | None = 4  # after the first round, only this many estimated-best joins are encoded
    steps: int = 0  # rounds of batched token search after the join (0: off)
    top_k: int = 8  # edits per row per round scored exactly
    anchor: float = 0.0  # > 0: refine toward unit(v + anchor * E(joined))
    warm_start: bool = False  # the pipeline's mean prompt joins the candidates (on in ``blend``)

    def __post_init__(self) -> None:
        if self.join_trials is not None and self.join_trials < 1:
            raise ValueError(f"join_trials must be >= 1 or unset, got {self.join_trials}")
        if self.join < 1 or self.pool < 1 or self.top_k < 1:
            raise ValueError(f"join, pool and top_k must be >= 1 (got {self.join}, {self.pool}, {self.top_k})")
        if self.steps < 0 or self.anchor < 0:
            raise ValueError(f"steps and anchor must be >= 0 (got {self.steps}, {self.anchor})")


def greedy_join(
    embedder: Embedder,
    vectors: np.ndarray,
    candidates: list[list[str]],
    join: int,
    known: Mapping[str, np.ndarray] | None = None,
    trials: int | None = None,
) -> list[str]:
    """Per row i, concatenate up to ``join`` of ``candidates[i]`` greedily while the score against
    ``vectors[i]`` rises by more than the tie tolerance; among tied candidates the earlier one wins.
    ``known`` maps strings to vectors already held (the bank) so the first round encodes only the
    rest. All rows advance together: each round is one ``encode`` call.

    ``trials``: from the second round on, only the ``trials`` candidates whose joined string is
    estimated best are encoded exactly. The estimate is mean pooling's algebra: E(s + " " + c) is
    close to unit(n_s E(s) + n_c E(c)) with n the token counts (attention between the parts ignored).
    None scores every candidate exactly.

    Example: candidates [["a", "b", "c"]] with E("a b") closest to the vector -> ["a b"].
    """
    known = dict(known or {})
    chosen: list[list[str]] = [[] for _ in candidates]
    current: dict[int, np.ndarray] = {}  # row -> exact vector of its joined string so far
    best = np.full(len(candidates), -np.inf)
    active = [i for i, c in enumerate(candidates) if c]
    lengths: dict[str, int] = {}

    def length(text: str) -> int:
        if text not in lengths:
            lengths[text] = max(1, len(embedder.tokenizer.encode_plain(text)))
        return lengths[text]

    for round_ in range(join):
        owners: list[tuple[int, str]] = []
        for i in active:
            fresh = [c for c in candidates[i] if c not in chosen[i]]
            if round_ > 0 and trials is not None and len(fresh) > trials and all(c in known for c in fresh):
                joined = " ".join(chosen[i])
                mix = length(joined) * current[i] + np.stack([length(c) * known[c] for c in fresh])
                estimate = row_scores(mix, np.broadcast_to(vectors[i], mix.shape))
                fresh = [fresh[j] for j in sorted(rank(estimate, limit=trials))]  # keep candidate order
            owners += [(i, c) for c in fresh]
        if not owners:
            break
        texts = [" ".join([*chosen[i], c]) for i, c in owners]
        embs = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        todo = [j for j, t in enumerate(texts) if t not in known]
        for j, t in enumerate(texts):
            if t in known:
                embs[j] = known[t]
        if todo:
            embs[todo] = embedder.encode([texts[j] for j in todo], use_cache=False)
            if round_ == 0:  # extra candidates' vectors, for the estimates of later rounds
                known.update((texts[j], embs[j]) for j in todo)
        scores = row_scores(embs, vectors[[i for i, _ in owners]])
        per_row: dict[int, list[int]] = {}
        for j, (i, _) in enumerate(owners):
            per_row.setdefault(i, []).append(j)
        active = []
        for i, js in per_row.items():
            j = js[best_index(scores[js])]
            if beats(float(scores[j]), float(best[i])):
                chosen[i].append(owners[j][1])
                best[i], current[i] = scores[j], embs[j]
                active.append(i)
    return [" ".join(c) for c in chosen]


def invert(
    embedder: Embedder,
    vectors: np.ndarray,
    bank: PromptBank,
    config: InvertConfig | None = None,
    extra: list[list[str]] | None = None,
    show_progress: bool = False,
) -> list[str]:
    """Best string per row for unit ``vectors`` [N, D]; ``extra[i]`` adds candidates for row i.
    Rows with no candidate at all come back as "" (the pipeline then falls back)."""
    cfg = config or InvertConfig()
    nearest = bank.nearest(vectors, cfg.pool)
    candidates = [
        list(dict.fromkeys([*nearest[i], *(s for s in (extra[i] if extra else []) if s)])) for i in range(len(vectors))
    ]
    joined = greedy_join(embedder, vectors, candidates, cfg.join, bank.known(), cfg.join_trials)
    return refine_joined(embedder, vectors, joined, cfg, show_progress) if cfg.steps > 0 else joined


def refine_joined(
    embedder: Embedder, vectors: np.ndarray, joined: list[str], config: InvertConfig, show_progress: bool = False
) -> list[str]:
    """``config.steps`` rounds of batched refinement of ``joined[i]`` toward ``vectors[i]`` ([N, D],
    unit), or toward unit(v + anchor * E(joined)) when ``config.anchor`` > 0. An encoder the pooled
    estimate cannot serve keeps the joins (logged). Blank rows stay blank."""
    rows = [i for i, text in enumerate(joined) if text]
    if not rows:
        return list(joined)
    targets = vectors[rows]
    if config.anchor > 0:
        mixed = targets + config.anchor * embedder.encode([joined[i] for i in rows], use_cache=False)
        targets = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-8)
    try:
        refine_config = RefineConfig(steps=config.steps, top_k=config.top_k, show_progress=show_progress)
        result = refine(embedder, targets, [joined[i] for i in rows], refine_config)
    except NotImplementedError as exc:
        logger.warning("inversion steps skipped: %s", exc)
        return list(joined)
    out = list(joined)
    for i, text in zip(rows, result.texts, strict=True):
        out[i] = text
    return out
