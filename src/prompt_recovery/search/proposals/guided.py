"""The default proposal: the union of the pooled estimate, the gradient and a memory of tokens that
scored well in earlier exact evaluations (a token that was good to add is often good again, which is
how `lucrarea` runs form). Each part gets a share of the budget ``k``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prompt_recovery.search.proposals.base import Edit, Proposal, SearchContext
from prompt_recovery.search.proposals.gradient import Gradient
from prompt_recovery.search.proposals.pooled import Pooled


class Guided(Proposal):
    name = "guided"

    def __init__(self, pooled_share: float = 0.6, gradient_share: float = 0.2, memory_share: float = 0.2) -> None:
        self.shares = (pooled_share, gradient_share, memory_share)
        self.memory: dict[int, float] = {}

    def prepare(self, ctx: SearchContext) -> None:
        self.ctx = ctx
        self.pooled, self.gradient = Pooled(), Gradient()
        self.pooled.prepare(ctx)
        self.gradient.prepare(ctx)
        self.memory = {}

    def propose(self, ids: list[int], moves: Sequence[str], k: int) -> list[Edit]:
        k_pool, k_grad, k_mem = (max(1, round(k * s)) for s in self.shares)
        edits = self.pooled.propose(ids, moves, k_pool) + self.gradient.propose(ids, moves, k_grad)
        remembered = sorted(self.memory, key=lambda t: -self.memory[t])[:k_mem]
        for move in moves:
            where = self.ctx.positions(move, len(ids))
            per_move = max(1, len(remembered) // len(where)) if where else 0
            for p in where:
                edits += [Edit(move, p, t) for t in remembered[:per_move]]
        return list(dict.fromkeys(edits))

    def observe(self, edits: Sequence[Edit], scores: np.ndarray) -> None:
        best: dict[int, float] = {}
        for edit, s in zip(edits, scores, strict=True):
            best[edit.token] = max(best.get(edit.token, -np.inf), float(s))
        self.memory = best  # the latest step's exact scores rank the memory
