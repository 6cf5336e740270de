"""Each row's candidate pool: bank prompts found by several queries, plus the pipeline's own strings.

Per row, in this order (earlier candidates win a de-duplication):

1. ``extras``: strings the pipeline already has for the row: the members' join, each member's own
   string, the mean prompt (origins ``joined``, ``member``, ``llm`` for LLM members, ``mean``);
2. for each query vector [N, D] (the edit direction, the rewritten text, the added words, each vector
   member's prediction), the ``k`` bank prompts nearest it (``nearest_rows``: ties to the earlier bank
   row), origin ``bank``.

A candidate within cosine ``dedupe`` of one kept earlier is merged into it (its origins and ranks are
added to the kept one's). Profane bank prompts (``decency``) never enter.

Shapes: ``texts[i]`` has C_i strings, ``vectors[i]`` is [C_i, D] float32 (unit), ``origin[i]`` is
[C_i, len(ORIGINS)] 0/1, ``ranks[i]`` is [C_i, Q]: 1 + the rank under query q, 0 when q did not
retrieve the candidate.

Example: one row, extras [("mean", ["Make it better"])], one query whose 2 nearest bank prompts are
"Make it formal" and "Make it better" -> texts [["Make it better", "Make it formal"]], the first with
origin mean and bank, ranks [[2], [1]].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prompt_recovery.banks import PromptBank
from prompt_recovery.predictors.base import nearest_rows

ORIGINS = ("bank", "joined", "member", "llm", "mean")


@dataclass
class Extra:
    """One string per row from the pipeline (blank: none for that row) and its vectors [N, D]."""

    origin: str
    texts: list[str]
    vectors: np.ndarray


@dataclass
class Pool:
    texts: list[list[str]]
    vectors: list[np.ndarray]
    origin: list[np.ndarray]
    ranks: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.texts)

    def sizes(self) -> list[int]:
        return [len(t) for t in self.texts]


def build_pool(
    queries: Sequence[np.ndarray],
    bank: PromptBank,
    extras: Sequence[Extra],
    k: int,
    dedupe: float,
    allowed: np.ndarray | None = None,
) -> Pool:
    """The pools of N rows. ``allowed`` [B] bool masks bank rows that may enter (default: all)."""
    n = len(queries[0]) if queries else len(extras[0].texts)
    keys = bank.vectors
    index = np.arange(len(bank))
    if allowed is not None:
        keys, index = keys[allowed], index[allowed]
    found = [nearest_rows(q, keys, min(k, len(keys))) if len(keys) else np.zeros((n, 0), int) for q in queries]
    pool = Pool([], [], [], [])
    dim = bank.vectors.shape[1] if bank.vectors.ndim == 2 else 0
    for i in range(n):
        row = _Row(len(queries), dedupe)
        for extra in extras:
            if extra.texts[i]:
                row.add(extra.texts[i], extra.vectors[i], extra.origin)
        for q, top in enumerate(found):
            for r, j in enumerate(top[i]):
                row.add(bank.texts[index[j]], keys[j], "bank", q, r)
        pool.texts.append(row.texts)
        pool.vectors.append(np.stack(row.vecs).astype(np.float32) if row.vecs else np.zeros((0, dim), np.float32))
        pool.origin.append(np.stack(row.origin) if row.origin else np.zeros((0, len(ORIGINS)), np.float32))
        pool.ranks.append(np.stack(row.ranks) if row.ranks else np.zeros((0, len(queries)), np.float32))
    return pool


class _Row:
    """One row's candidates while its pool is built: ``add`` keeps a new one or merges it into the
    earlier candidate within cosine ``dedupe``."""

    def __init__(self, queries: int, dedupe: float) -> None:
        self.queries, self.dedupe = queries, dedupe
        self.texts: list[str] = []
        self.vecs: list[np.ndarray] = []
        self.origin: list[np.ndarray] = []
        self.ranks: list[np.ndarray] = []

    def add(self, text: str, vec: np.ndarray, kind: str, q: int = -1, r: int = 0) -> None:
        flags = np.zeros(len(ORIGINS), np.float32)
        flags[ORIGINS.index(kind)] = 1
        rank = np.zeros(self.queries, np.float32)
        if q >= 0:
            rank[q] = r + 1
        if self.vecs:
            sims = np.stack(self.vecs) @ vec
            j = int(np.argmax(sims))
            if sims[j] >= self.dedupe:
                self.origin[j] = np.maximum(self.origin[j], flags)
                # the best (lowest) rank per query, 0 meaning "not retrieved" on either side
                kept = self.ranks[j]
                self.ranks[j] = np.where(kept == 0, rank, np.where(rank == 0, kept, np.minimum(kept, rank)))
                return
        self.texts.append(text)
        self.vecs.append(vec)
        self.origin.append(flags)
        self.ranks.append(rank)
