"""Token search for many targets at once: refine one string per row toward that row's target vector.

``search`` (engine.py) serves one objective at a time and pays its set-up (allowed ids, cached states,
gradient passes) per call; inverting a thousand predicted vectors that way costs seconds per row. Here
every row advances in step, so each step is three batched passes for all rows together:

1. the current strings' token states (one ``token_states`` pass), from which the pooled estimate
   (``proposals/pooled.py``) ranks every allowed token at the end of the string (``append``) and in
   place of up to ``max_positions`` sampled tokens (``replace``). When the head is linear (no Dense,
   or a Dense without bias and activation, as in MiniLM and sentence-t5), the estimate for all tokens
   is two matrix products per row: cos = (c.v + s_t.v) / sqrt(|c|^2 + 2 c.s_t + |s_t|^2), with c the
   row's pooled sum and s_t the token's cached state, both after the Dense;
2. the top ``top_k`` edits per row are decoded to strings and scored exactly (one ``encode_ids`` pass);
3. a row keeps its best candidate when it beats the current string; after ``patience`` steps without
   one it stops (replace positions are sampled afresh each step, so a retry can find more).

Strings are what get scored: a candidate's score is that of its decoded text, re-tokenized. A row whose
string never improved keeps its start string unchanged (not its re-tokenized form).

Example::

    texts, scores = refine(embedder, vectors, ["make it formal", "as a poem"], RefineConfig(steps=3, top_k=16))
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT
from prompt_recovery.search.proposals.base import Edit
from prompt_recovery.search.single_tokens import single_token_states
from prompt_recovery.search.vocab import VocabFilter, allowed_token_ids

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefineConfig:
    steps: int = 3  # rounds; each accepts at most one edit per row
    top_k: int = 16  # edits per row per step sent to exact scoring
    max_positions: int = 4  # replace positions sampled per row per step
    moves: tuple[str, ...] = ("append", "replace")
    patience: int = 1  # a row stops after this many steps in a row without a better string
    time_budget: float | None = None  # seconds; rows keep the best string found when it runs out
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.moves or set(self.moves) - {"append", "replace"}:
            raise ValueError(f"moves must be a non-empty subset of ('append', 'replace'), got {self.moves}")


def _linear_head(embedder: Embedder) -> torch.Tensor | None:
    """The Dense weight [D, H] of a linear head without bias; None when there is no Dense (identity).
    Any other head raises NotImplementedError: the closed-form estimate would not hold."""
    dense = embedder.dense
    if dense is None:
        return None
    layers = list(dense) if isinstance(dense, nn.Sequential) else [dense]
    linear = [m for m in layers if isinstance(m, nn.Linear)]
    rest = [m for m in layers if not isinstance(m, (nn.Linear, nn.Identity))]
    if len(linear) == 1 and linear[0].bias is None and not rest:
        return linear[0].weight.detach().float()
    raise NotImplementedError("batched refinement needs a linear Dense head without bias (or none)")


class _Ranker:
    """Pooled-estimate scores of every allowed token for many (base sum, target) pairs."""

    def __init__(self, embedder: Embedder, states: np.ndarray, allowed: np.ndarray) -> None:
        self.allowed = allowed  # [A] token ids, row t of ``states`` is token allowed[t]
        self.weight = _linear_head(embedder)
        s = torch.from_numpy(states)
        self.s = s if self.weight is None else s @ self.weight.T  # [A, D]
        self.s_sq = (self.s * self.s).sum(1)  # [A]

    @torch.inference_mode()
    def scores(self, bases: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Bases [P, H] (pooled sums before the new token) and unit targets [P, D] -> |cos|^3 [P, A]."""
        c = bases if self.weight is None else bases @ self.weight.T  # [P, D]
        dot = (c * targets).sum(1, keepdim=True) + targets @ self.s.T  # [P, A]
        sq = (c * c).sum(1, keepdim=True) + 2 * (c @ self.s.T) + self.s_sq
        return (dot / sq.clamp(min=1e-12).sqrt()).abs() ** EXPONENT


def refine(
    embedder: Embedder,
    vectors: np.ndarray,
    starts: list[str],
    config: RefineConfig | None = None,
    cache_dir: str | None = None,
    vocab: VocabFilter | None = None,
) -> tuple[list[str], np.ndarray]:
    """Refine ``starts[i]`` toward unit ``vectors[i]`` ([N, D]). Returns (strings, exact |cos|^3 [N])."""
    cfg = config or RefineConfig()
    if embedder.pooling_mode != "mean":
        raise NotImplementedError(f"batched refinement needs mean pooling, not {embedder.pooling_mode}")
    tok = embedder.tokenizer
    started = time.monotonic()
    targets = np.asarray(vectors, dtype=np.float32)
    n = len(starts)
    max_content = tok.max_length - len(tok.wrap([]))
    allowed = allowed_token_ids(tok, vocab or VocabFilter())
    states = single_token_states(embedder, None if cache_dir is None else Path(cache_dir))
    ranker = _Ranker(embedder, states[allowed], allowed)

    def exact(texts: list[str], rows: list[int]) -> np.ndarray:
        plain = [tok.encode_plain(t) for t in texts]
        out = np.full(len(texts), -np.inf, dtype=np.float32)
        ok = [j for j, p in enumerate(plain) if 0 < len(p) <= max_content]
        if ok:
            vecs = embedder.encode_ids([tok.wrap(plain[j]) for j in ok])
            rows_ok = np.array([rows[j] for j in ok])
            out[ok] = np.abs(np.einsum("nd,nd->n", vecs, targets[rows_ok])) ** EXPONENT
        return out

    current = list(starts)
    score = exact(current, list(range(n)))
    ids = [tok.encode_plain(t) for t in current]
    active = [i for i in range(n) if 0 < len(ids[i]) < max_content]
    stale = np.zeros(n, dtype=int)
    for step in range(cfg.steps):
        if not active or (cfg.time_budget is not None and time.monotonic() - started > cfg.time_budget):
            break
        edits = _propose(embedder, ranker, ids, active, targets, cfg, step)
        texts, owners = [], []
        for i, row_edits in zip(active, edits, strict=True):
            for edit in row_edits:
                texts.append(tok.decode(edit.apply(ids[i])))
                owners.append(i)
        if not texts:
            break
        trial = exact(texts, owners)
        best: dict[int, int] = {}
        for j, i in enumerate(owners):
            if trial[j] > score[i] + 1e-7 and (i not in best or trial[j] > trial[best[i]]):
                best[i] = j
        for i, j in best.items():
            current[i], score[i] = texts[j], trial[j]
            ids[i] = tok.encode_plain(texts[j])
        for i in active:
            stale[i] = 0 if i in best else stale[i] + 1
        active = [i for i in active if stale[i] < cfg.patience and len(ids[i]) < max_content]
    logger.debug("refined %d rows in %.1fs", n, time.monotonic() - started)
    return current, score


def _propose(
    embedder: Embedder,
    ranker: _Ranker,
    ids: list[list[int]],
    active: list[int],
    targets: np.ndarray,
    cfg: RefineConfig,
    step: int,
) -> list[list[Edit]]:
    """Top ``cfg.top_k`` edits per active row by the pooled estimate."""
    tok = embedder.tokenizer
    start = tok.prefix_len
    out: list[list[Edit]] = []
    batch = embedder.batch_size
    for lo in range(0, len(active), batch):
        rows = active[lo : lo + batch]
        with torch.inference_mode():
            t_ids, mask = embedder.pad([tok.wrap(ids[i]) for i in rows])
            hidden = embedder.token_states(t_ids, mask)  # [B, L, H]
            totals = (hidden * mask.unsqueeze(-1)).sum(1)  # [B, H]
        bases, tgt, keys = [], [], []
        for b, i in enumerate(rows):
            for move in cfg.moves:
                if move == "append":
                    where = [len(ids[i])]
                else:
                    where = list(range(len(ids[i])))
                    if len(where) > cfg.max_positions:
                        # seeded by step and the row's own ids: a row's result never depends on its batch
                        row_key = zlib.crc32(np.asarray(ids[i], np.int64).tobytes())
                        rng = np.random.default_rng([cfg.seed, step, row_key])
                        where = sorted(int(p) for p in rng.choice(where, cfg.max_positions, replace=False))
                for p in where:
                    base = totals[b] if move == "append" else totals[b] - hidden[b, start + p]
                    bases.append(base)
                    tgt.append(targets[i])
                    keys.append((b, move, p))
        gain = ranker.scores(torch.stack(bases), torch.from_numpy(np.stack(tgt)))  # [P, A]
        k = min(cfg.top_k, gain.shape[1])
        top_val, top_idx = gain.topk(k, dim=1)
        per_row: list[list[tuple[float, Edit]]] = [[] for _ in rows]
        for (b, move, p), vals, idx in zip(keys, top_val.tolist(), top_idx.tolist(), strict=True):
            per_row[b] += [(v, Edit(move, p, int(ranker.allowed[t]))) for v, t in zip(vals, idx, strict=True)]
        out += [[e for _, e in sorted(r, key=lambda x: -x[0])[: cfg.top_k]] for r in per_row]
    return out
