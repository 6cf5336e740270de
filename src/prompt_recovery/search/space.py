"""What the token search knows about one encoder's vocabulary, built once per (Embedder, VocabFilter).

``token_space(embedder, vocab)`` returns the same ``TokenSpace`` on every call for the same embedder and
filter: the allowed token ids, every token's single-token state (``single_tokens.py``, cached on disk
in the embedder's cache folder), and the closed-form pooled estimate (``ranker``). Searches, refinement
and inversion ask for it instead of rebuilding the vocabulary and reloading ~47 MB of states per call,
and no folder path travels through predictor settings.

Example::

    space = token_space(embedder)            # built once
    space.allowed[:3], space.states.shape    # ids [A], float32 [vocab, H]
    space.ranker.scores(bases, targets)      # |cos|^3 of every allowed token appended, [P, A]
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import cached_property

import numpy as np
import torch
from torch import nn

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT
from prompt_recovery.search.single_tokens import single_token_states
from prompt_recovery.search.vocab import VocabFilter, allowed_token_ids

_SPACES: weakref.WeakKeyDictionary[Embedder, dict[VocabFilter, TokenSpace]] = weakref.WeakKeyDictionary()


def token_space(embedder: Embedder, vocab: VocabFilter | None = None) -> TokenSpace:
    """The (memoised) ``TokenSpace`` of ``embedder`` under ``vocab`` (default ``VocabFilter()``)."""
    vocab = vocab or VocabFilter()
    per_embedder = _SPACES.setdefault(embedder, {})
    if vocab not in per_embedder:
        per_embedder[vocab] = TokenSpace(embedder, vocab)
    return per_embedder[vocab]


class TokenSpace:
    """Allowed ids, single-token states and the pooled-estimate ranker of one embedder; parts are
    computed on first use."""

    def __init__(self, embedder: Embedder, vocab: VocabFilter) -> None:
        self._embedder = weakref.ref(embedder)  # the memo is keyed by the embedder: don't keep it alive
        self.vocab = vocab

    @property
    def embedder(self) -> Embedder:
        embedder = self._embedder()
        assert embedder is not None, "the embedder of this token space is gone"
        return embedder

    @cached_property
    def allowed(self) -> np.ndarray:
        """Sorted int64 [A] token ids the search may place (``vocab.py``)."""
        return allowed_token_ids(self.embedder.tokenizer, self.vocab)

    @cached_property
    def states(self) -> np.ndarray:
        """float32 [vocab_size, H]: each token's hidden state on its own (cached on disk)."""
        return single_token_states(self.embedder, self.embedder.cache_dir)

    @cached_property
    def ranker(self) -> Ranker:
        """Closed-form pooled estimate over the allowed tokens (needs a linear head, see ``Ranker``)."""
        return Ranker(self.embedder, self.states[self.allowed], self.allowed)


def linear_head(embedder: Embedder) -> torch.Tensor | None:
    """The Dense weight [D, H] of a linear head without bias; None when there is no Dense (identity).
    Any other head raises NotImplementedError: the closed-form estimate would not hold."""
    dense = embedder.dense
    if dense is None:
        return None
    layers = list(dense) if isinstance(dense, nn.Sequential) else [dense]
    linear = [m for m in layers if isinstance(m, nn.Linear)]
    rest = [m for m in layers if not isinstance(m, nn.Linear | nn.Identity)]
    if len(linear) == 1 and linear[0].bias is None and not rest:
        return linear[0].weight.detach().float()
    raise NotImplementedError("batched refinement needs a linear Dense head without bias (or none)")


class Ranker:
    """Pooled-estimate scores of every allowed token for many (base sum, target) pairs.

    With mean pooling and a linear head, putting token t into a string whose token states sum to c
    gives (approximately: neighbours' attention is ignored) the direction c + s_t, so against a unit
    target v: cos = (c.v + s_t.v) / sqrt(|c|^2 + 2 c.s_t + |s_t|^2), two matrix products for all tokens.
    """

    def __init__(self, embedder: Embedder, states: np.ndarray, allowed: np.ndarray) -> None:
        self.allowed = allowed  # [A] token ids, row t of ``states`` is token allowed[t]
        self.weight = linear_head(embedder)
        s = torch.from_numpy(states)
        self.s = s if self.weight is None else s @ self.weight.T  # [A, D]
        self.s_sq = (self.s * self.s).sum(1)  # [A]

    def _head(self, bases: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bases [P, H] after the head, and the squared norm of (base + s_t) for every token [P, A]."""
        c = bases if self.weight is None else bases @ self.weight.T  # [P, D]
        return c, (c * c).sum(1, keepdim=True) + 2 * (c @ self.s.T) + self.s_sq

    @torch.inference_mode()
    def scores(self, bases: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Bases [P, H] (pooled sums before the new token) and unit targets [P, D] -> |cos|^3 [P, A]."""
        c, sq = self._head(bases)
        dot = (c * targets).sum(1, keepdim=True) + targets @ self.s.T  # [P, A]
        return (dot / sq.clamp(min=1e-12).sqrt()).abs() ** EXPONENT

    @torch.inference_mode()
    def mean_scorer(self, targets: torch.Tensor, weights: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """For fixed unit targets [M, D] with weights [M] (sum 1), a function from bases [P, H] to the
        weighted mean |cos|^3 of every allowed token put in, [P, A] (the mean-prompt search's estimate).
        The tokens' products with the targets [A, M] are computed once here, not per base."""
        st = self.s @ targets.T  # [A, M]

        @torch.inference_mode()
        def score(bases: torch.Tensor) -> torch.Tensor:
            c, sq = self._head(bases)
            out = torch.empty(sq.shape)
            for i in range(len(c)):  # one base at a time: [A, M] floats
                cos = ((c[i] @ targets.T) + st) / sq[i].clamp(min=1e-12).sqrt().unsqueeze(1)
                out[i] = cos.abs().pow(EXPONENT) @ weights
            return out

        return score
