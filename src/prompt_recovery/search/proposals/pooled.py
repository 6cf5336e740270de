"""First-order proposal from cached single-token states: score every token for the price of a matmul.

For mean pooling, the pooled vector of a string is (sum of its token states) / (number of tokens).
Putting token t into the current string is approximated by adding t's single-token state to the
current sum (and, for ``replace``, removing the replaced token's state), ignoring how t and its
neighbours change each other through attention. The closed form that scores every allowed token at
once is the token space's ``Ranker`` (``space.py``), shared with the batched refinement; the top k go
to exact scoring.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from prompt_recovery.search.proposals.base import Edit, Proposal, SearchContext

RANKING_TARGETS = 512  # the estimate is only a ranking: a sample of the targets ranks as well, faster


class Pooled(Proposal):
    name = "pooled"

    def prepare(self, ctx: SearchContext) -> None:
        if ctx.embedder.pooling_mode != "mean":
            raise ValueError(f"the pooled proposal needs mean pooling, this encoder uses {ctx.embedder.pooling_mode}")
        self.ctx = ctx
        self.ranker = ctx.space.ranker  # the same closed-form estimate as the batched refinement
        sample = ctx.objective.subsample(RANKING_TARGETS, seed=0)
        self.score = self.ranker.mean_scorer(torch.from_numpy(sample.targets), torch.from_numpy(sample.weights))

    @torch.inference_mode()
    def propose(self, ids: list[int], moves: Sequence[str], k: int) -> list[Edit]:
        emb = self.ctx.embedder
        t_ids, mask = emb.pad([emb.tokenizer.wrap(ids)])
        hidden = emb.token_states(t_ids, mask)[0]  # [L, H]
        total = hidden.sum(0)
        start = emb.tokenizer.prefix_len
        scored: list[tuple[float, Edit]] = []
        for move in moves:
            for p in self.ctx.positions(move, len(ids)):
                # mean pooling's 1/n does not change a direction: the sum stands for the mean
                base = total - hidden[start + p] if move == "replace" else total
                gain = self.score(base[None])[0].numpy()
                top = np.argpartition(-gain, min(k, len(gain) - 1))[:k]
                scored += [(float(gain[i]), Edit(move, p, int(self.ranker.allowed[i]))) for i in top]
        scored.sort(key=lambda x: -x[0])
        return [e for _, e in scored[:k]]
