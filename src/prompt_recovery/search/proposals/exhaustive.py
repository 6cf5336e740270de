"""Every allowed token at every position of every move: the brute force of the write-ups, the reference."""

from __future__ import annotations

from collections.abc import Sequence

from prompt_recovery.search.proposals.base import Edit, Proposal, SearchContext, positions


class Exhaustive(Proposal):
    name = "exhaustive"

    def prepare(self, ctx: SearchContext) -> None:
        self.allowed = [int(t) for t in ctx.allowed]

    def propose(self, ids: list[int], moves: Sequence[str], k: int) -> list[Edit]:
        return [Edit(m, p, t) for m in moves for p in positions(m, len(ids)) for t in self.allowed]
