"""Token search for many targets at once: refine one string per row toward that row's target vector.

``search`` (engine.py) serves one objective at a time (its loop is a beam over one string; here each row
has its own target, so the loop is per row, but the exact scoring and the budget rule are shared:
``exact.py``) and pays its set-up (allowed ids, cached states,
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

import numpy as np
import torch

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import beats, best_index, row_scores
from prompt_recovery.progress import tqdm
from prompt_recovery.search.exact import Budget, encode_strings, max_content
from prompt_recovery.search.proposals.base import Edit, sample_positions
from prompt_recovery.search.space import Ranker, token_space
from prompt_recovery.search.vocab import VocabFilter

logger = logging.getLogger(__name__)
ESTIMATE_DECIMALS = 5  # estimates are compared rounded to this many decimals (see ``_propose``)
TOPK_SLACK = 8  # extra candidates taken before the rounded re-ranking


@dataclass(frozen=True)
class RefineConfig:
    steps: int = 3  # rounds; each accepts at most one edit per row
    top_k: int = 16  # edits per row per step sent to exact scoring
    max_positions: int = 4  # replace positions sampled per row per step
    moves: tuple[str, ...] = ("append", "replace")
    patience: int = 1  # a row stops after this many steps in a row without a better string
    time_budget: float | None = None  # seconds; rows keep the best string found when it runs out
    seed: int = 0
    show_progress: bool = False

    def __post_init__(self) -> None:
        if not self.moves or set(self.moves) - {"append", "replace"}:
            raise ValueError(f"moves must be a non-empty subset of ('append', 'replace'), got {self.moves}")
        if self.steps < 0 or self.top_k < 1 or self.max_positions < 1 or self.patience < 1:
            raise ValueError("steps must be >= 0; top_k, max_positions and patience >= 1")


@dataclass(frozen=True)
class RefineStep:
    step: int
    active: int  # rows still searching at the start of the step
    accepted: int  # rows whose string improved in this step
    mean_score: float  # mean exact |cos|^3 over all rows after the step
    seconds: float  # since refinement began


@dataclass
class RefineResult:
    texts: list[str]
    scores: np.ndarray  # exact |cos|^3 of ``texts[i]`` against ``vectors[i]``, float32 [N]
    history: list[RefineStep]  # step 0 is the start strings
    stopped: str  # "steps" | "converged" | "time_budget"


def refine(
    embedder: Embedder,
    vectors: np.ndarray,
    starts: list[str],
    config: RefineConfig | None = None,
    vocab: VocabFilter | None = None,
) -> RefineResult:
    """Refine ``starts[i]`` toward unit ``vectors[i]`` ([N, D]). A row takes its best trial only when it
    beats the current string under the tie rule (``metric.beats``; among tied trials the first
    proposed wins), so a row's result does not depend on the other rows or the thread count."""
    cfg = config or RefineConfig()
    if embedder.pooling_mode != "mean":
        raise NotImplementedError(f"batched refinement needs mean pooling, not {embedder.pooling_mode}")
    tok = embedder.tokenizer
    budget = Budget(cfg.time_budget)
    targets = np.asarray(vectors, dtype=np.float32)
    n = len(starts)
    content = max_content(embedder)
    ranker = token_space(embedder, vocab).ranker

    def exact(texts: list[str], rows: list[int]) -> np.ndarray:
        vecs, ok = encode_strings(embedder, texts, content)
        out = np.full(len(texts), -np.inf, dtype=np.float32)
        if ok.any():
            out[ok] = row_scores(vecs, targets[np.asarray(rows)[ok]])
        return out

    current = list(starts)
    score = exact(current, list(range(n)))
    ids = [tok.encode_plain(t) for t in current]
    active = [i for i in range(n) if 0 < len(ids[i]) < content]
    stale = np.zeros(n, dtype=int)
    history = [RefineStep(0, len(active), 0, _mean(score), 0.0)]
    stopped = "steps"
    bar = tqdm(total=cfg.steps, desc="Refining", unit="step", disable=not cfg.show_progress)
    for step in range(cfg.steps):
        if not active:
            stopped = "converged"
            break
        if not budget.allows_step():  # a step that would end past the deadline is not begun
            stopped = "time_budget"
            break
        edits = _propose(embedder, ranker, ids, active, targets, cfg, step)
        texts, owners = [], []
        for i, row_edits in zip(active, edits, strict=True):
            seen = {current[i]}  # edits that decode to the same string (or to the current one) cost nothing twice
            for edit in row_edits:
                text = tok.decode(edit.apply(ids[i]))
                if text not in seen:
                    seen.add(text)
                    texts.append(text)
                    owners.append(i)
        trial = exact(texts, owners) if texts else np.zeros(0, dtype=np.float32)
        per_row: dict[int, list[int]] = {}
        for j, i in enumerate(owners):
            per_row.setdefault(i, []).append(j)
        accepted = []
        for i, js in per_row.items():
            j = js[best_index(trial[js])]
            if beats(float(trial[j]), float(score[i])):
                current[i], score[i] = texts[j], trial[j]
                ids[i] = tok.encode_plain(texts[j])
                accepted.append(i)
        for i in active:
            stale[i] = 0 if i in accepted else stale[i] + 1
        history.append(
            RefineStep(step + 1, len(active), len(accepted), _mean(score), time.monotonic() - budget.started)
        )
        active = [i for i in active if stale[i] < cfg.patience and len(ids[i]) < content]
        budget.step_done()
        bar.update(1)
    bar.close()
    logger.debug("refined %d rows in %.1fs", n, time.monotonic() - budget.started)
    return RefineResult(current, score, history, stopped)


def _mean(scores: np.ndarray) -> float:
    finite = scores[np.isfinite(scores)]
    return float(finite.mean()) if len(finite) else 0.0


def _propose(
    embedder: Embedder,
    ranker: Ranker,
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
                # seeded by step and the row's own ids: a row's result never depends on its batch
                row_key = zlib.crc32(np.asarray(ids[i], np.int64).tobytes())
                rng = np.random.default_rng([cfg.seed, step, row_key])
                where = sample_positions(move, len(ids[i]), cfg.max_positions, rng)
                for p in where:
                    base = totals[b] if move == "append" else totals[b] - hidden[b, start + p]
                    bases.append(base)
                    tgt.append(targets[i])
                    keys.append((b, move, p))
        gain = ranker.scores(torch.stack(bases), torch.from_numpy(np.stack(tgt)))  # [P, A]
        # The estimate of a token moves by ~1e-7 with the batch's padding and the thread count, so it is
        # ranked rounded to ESTIMATE_DECIMALS, ties broken by token id, then by the order of positions:
        # a row proposes the same edits whatever batch it sits in (a near-tie straddling a rounding
        # boundary is the only way left to differ; it then only changes which of two equal guesses goes
        # to exact scoring).
        k = min(cfg.top_k + TOPK_SLACK, gain.shape[1])
        top_val, top_idx = gain.topk(k, dim=1)
        per_row: list[list[tuple[float, Edit]]] = [[] for _ in rows]
        for (b, move, p), vals, idx in zip(keys, top_val.tolist(), top_idx.tolist(), strict=True):
            ranked = sorted(
                ((round(v, ESTIMATE_DECIMALS), int(ranker.allowed[t])) for v, t in zip(vals, idx, strict=True)),
                key=lambda x: (-x[0], x[1]),
            )
            per_row[b] += [(v, Edit(move, p, t)) for v, t in ranked[: cfg.top_k]]
        out += [[e for _, e in sorted(r, key=lambda x: -x[0])[: cfg.top_k]] for r in per_row]
    return out
