"""Gradient-guided proposal (HotFlip / GCG): one backward pass ranks every token at every position.

The objective's gradient with respect to the input embedding at position p, dotted with each token's
input embedding, is a first-order estimate of the gain of putting that token at p. For ``append`` and
``insert`` a placeholder token is put at the new position first. Top-k over (position, token) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from prompt_recovery.search.proposals.base import Edit, Proposal, SearchContext


class Gradient(Proposal):
    name = "gradient"

    def prepare(self, ctx: SearchContext) -> None:
        self.ctx = ctx
        self.allowed = torch.from_numpy(ctx.allowed)
        self.table = ctx.embedder.input_embeddings.detach()[self.allowed]  # [A, H]
        tok = ctx.embedder.tokenizer
        self.placeholder = tok.encode_plain("the")[-1]

    def _grads(self, content: list[int]) -> torch.Tensor:
        """Gradient of the objective w.r.t. input embeddings of each content position: [len(content), H]."""
        emb = self.ctx.embedder
        tok = emb.tokenizer
        ids, mask = emb.pad([tok.wrap(content)])
        inputs = emb.input_embeddings.detach()[ids].clone().requires_grad_(True)
        self.ctx.objective.torch_score(emb.forward_embeds(inputs, mask)).sum().backward()
        assert inputs.grad is not None
        start = tok.prefix_len
        return inputs.grad[0, start : start + len(content)]

    def propose(self, ids: list[int], moves: Sequence[str], k: int) -> list[Edit]:
        scored: list[tuple[float, Edit]] = []
        for move in moves:
            if move == "replace" and ids:
                grads = self._grads(ids)
                for p in self.ctx.positions(move, len(ids)):
                    scored += self._top(grads[p], move, p, k)
            elif move in ("append", "insert"):
                for p in self.ctx.positions(move, len(ids)):
                    probe = Edit(move, p, self.placeholder).apply(ids)
                    scored += self._top(self._grads(probe)[p], move, p, k)
        scored.sort(key=lambda x: -x[0])
        return [e for _, e in scored[:k]]

    def _top(self, grad: torch.Tensor, move: str, p: int, k: int) -> list[tuple[float, Edit]]:
        gain = (self.table @ grad).numpy()
        top = np.argpartition(-gain, min(k, len(gain) - 1))[:k]
        return [(float(gain[i]), Edit(move, p, int(self.ctx.allowed[i]))) for i in top]
