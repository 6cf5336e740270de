"""The search loop: greedy or beam over token edits, every candidate scored exactly as a string.

Config in, result out (nanoGCG's shape)::

    result = search(embedder, MeanSCS(targets), SearchConfig(max_added_tokens=16))
    result.text, result.objective, result.history[-1]

Faithfulness: a candidate is the *string* decoded from the edited token ids; it is re-tokenized, encoded
and scored from scratch, so the objective reported for ``result.text`` is what the scorer gives that
string. Limits: added tokens, model tokens (strings that would be truncated are rejected), a time
budget (checked between scoring chunks), patience (steps without a new best). Checkpoints (JSON,
written atomically after each step) let a killed search resume where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.fileio import write_text_atomic
from prompt_recovery.metric import beats, best_index, rank
from prompt_recovery.progress import tqdm
from prompt_recovery.search.exact import Budget, encode_strings, max_content
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.proposals import MOVES, Edit, SearchContext, make_proposal
from prompt_recovery.search.space import token_space
from prompt_recovery.search.vocab import VocabFilter

logger = logging.getLogger(__name__)
CHECKPOINT_VERSION = 1


@dataclass
class SearchConfig:
    proposal: str = "guided"
    moves: tuple[str, ...] = ("append",)
    beam_width: int = 1
    top_k: int = 512  # edits a non-exhaustive proposal sends to exact scoring, per beam member
    max_added_tokens: int = 16  # steps; each append/insert step adds one token
    max_model_tokens: int | None = None  # default: the tokenizer's cap (128 for sentence-t5 tf)
    time_budget: float | None = None  # seconds
    patience: int = 3  # stop after this many steps without a new best
    max_positions: int | None = 4  # insert/replace positions a guided proposal tries per step (None: all)
    seed: int = 0
    vocab: VocabFilter = field(default_factory=VocabFilter)
    checkpoint: str | None = None
    show_progress: bool = False

    def __post_init__(self) -> None:
        bad = [m for m in self.moves if m not in MOVES]
        if bad or not self.moves:
            raise ValueError(f"moves must be a non-empty subset of {MOVES}, got {self.moves}")
        if self.beam_width < 1 or self.top_k < 1 or self.max_added_tokens < 0:
            raise ValueError("beam_width and top_k must be >= 1, max_added_tokens >= 0")


@dataclass
class Step:
    step: int
    text: str
    objective: float
    added_tokens: int
    seconds: float  # wall-clock since the search began (resumed runs include earlier sessions)
    evaluated: int  # strings scored exactly in this step


@dataclass
class SearchResult:
    text: str
    objective: float
    tokens: list[str]  # pieces of ``text`` as the tokenizer splits it
    history: list[Step]
    stopped: str  # "max_added_tokens" | "time_budget" | "patience" | "max_model_tokens"
    evaluated: int

    def to_dict(self) -> dict:
        return asdict(self)


class _Scorer:
    """Exact objective of strings, memoised for the length of one search."""

    def __init__(self, embedder: Embedder, objective: MeanSCS, max_content: int) -> None:
        self.embedder, self.objective = embedder, objective
        self.max_content = max_content
        self.seen: dict[str, float] = {}
        self.evaluated = 0

    def fits(self, text: str) -> bool:
        return len(self.embedder.tokenizer.encode_plain(text)) <= self.max_content

    def score(self, texts: list[str], budget: Budget) -> dict[str, float] | None:
        """Scores for ``texts`` (empty or too-long strings get -inf); None if the budget ran out meanwhile."""
        todo = [t for t in dict.fromkeys(texts) if t not in self.seen]
        for start in range(0, len(todo), 4096):
            if budget.expired():
                return None
            chunk = todo[start : start + 4096]
            vecs, ok = encode_strings(self.embedder, chunk, self.max_content)
            values = np.full(len(chunk), -np.inf)
            if ok.any():
                values[ok] = self.objective.score(vecs)
            self.seen.update(zip(chunk, values.tolist(), strict=True))
            self.evaluated += int(ok.sum())
        return {t: self.seen[t] for t in texts}


def search(embedder: Embedder, objective: MeanSCS, config: SearchConfig | None = None, init: str = "") -> SearchResult:
    """Maximise ``objective`` over strings, starting from ``init``. See the module docstring."""
    cfg = config or SearchConfig()
    tok = embedder.tokenizer
    started = time.monotonic()
    scorer = _Scorer(embedder, objective, max_content(embedder, cfg.max_model_tokens))
    ctx = SearchContext(
        embedder, objective, token_space(embedder, cfg.vocab), cfg.max_positions, np.random.default_rng(cfg.seed)
    )
    proposal = make_proposal(cfg.proposal)
    proposal.prepare(ctx)

    start_text = tok.decode(tok.encode_plain(init))  # the string as the tokenizer sees it
    state = _load_checkpoint(cfg, objective, embedder, start_text)
    if state is None:
        first = scorer.score([start_text], Budget(None)) or {start_text: -np.inf}
        beam = [(start_text, first[start_text] if start_text else 0.0)]
        history = [Step(0, start_text, beam[0][1], 0, 0.0, 1)]
        earlier = 0.0
    else:
        beam, history, earlier = state
    base_len = len(tok.encode_plain(start_text))
    best = history[best_index([s.objective for s in history])]
    # the budget is this run's (a resumed run gets it afresh), counted from the call, set-up included
    budget = Budget(cfg.time_budget, started)
    stopped, stale = "max_added_tokens", 0
    bar = tqdm(total=cfg.max_added_tokens, initial=len(history) - 1, desc="Search", disable=not cfg.show_progress)
    for step in range(len(history), cfg.max_added_tokens + 1):
        if not budget.allows_step():  # a step that would end past the deadline is not begun
            stopped = "time_budget"
            break
        candidates: list[tuple[str, Edit, int]] = []
        for member, (text, _) in enumerate(beam):
            ids = tok.encode_plain(text)
            edits = proposal.propose(ids, cfg.moves, cfg.top_k)
            candidates += [(tok.decode(e.apply(ids)), e, member) for e in edits]
        scores = scorer.score([c[0] for c in candidates], budget)
        if scores is None:
            stopped = "time_budget"
            break
        for member in range(len(beam)):
            mine = [(c[1], scores[c[0]]) for c in candidates if c[2] == member]
            proposal.observe([e for e, _ in mine], np.array([s for _, s in mine]))
        # distinct non-empty strings in proposal order (never a set: its order follows the hash seed),
        # ranked under the tie rule so near-equal scores keep that order
        texts = [t for t in dict.fromkeys(c[0] for c in candidates) if t and np.isfinite(scores[t])]
        ranked = [texts[j] for j in rank([scores[t] for t in texts], limit=cfg.beam_width)]
        if not ranked:
            stopped = "max_model_tokens"
            break
        beam = [(t, scores[t]) for t in ranked]
        elapsed = earlier + time.monotonic() - started
        top = beam[0]
        history.append(
            Step(step, top[0], top[1], len(tok.encode_plain(top[0])) - base_len, elapsed, len(set(candidates)))
        )
        bar.update(1)
        bar.set_postfix(objective=f"{top[1]:.4f}", tokens=len(tok.encode_plain(top[0])))
        if beats(top[1], best.objective):
            best, stale = history[-1], 0
        else:
            stale += 1
        _save_checkpoint(cfg, objective, embedder, start_text, beam, history)
        if stale >= cfg.patience:
            stopped = "patience"
            break
        budget.step_done()
    bar.close()
    pieces = [tok.piece(i) for i in tok.encode_plain(best.text)]
    return SearchResult(best.text, best.objective, pieces, history, stopped, scorer.evaluated)


def _identity(cfg: SearchConfig, objective: MeanSCS, embedder: Embedder, start: str) -> dict:
    keep = {k: v for k, v in asdict(cfg).items() if k not in ("time_budget", "checkpoint", "show_progress", "patience")}
    keep["max_added_tokens"] = None  # a resumed run may go further
    doc = {"embedder": embedder.identity, "objective": objective.fingerprint(), "start": start, "config": keep}
    return dict(json.loads(json.dumps(doc)))  # as it reads back from the file (tuples become lists)


def _save_checkpoint(
    cfg: SearchConfig,
    objective: MeanSCS,
    embedder: Embedder,
    start: str,
    beam: list[tuple[str, float]],
    history: list[Step],
) -> None:
    if cfg.checkpoint is None:
        return
    path = Path(cfg.checkpoint)
    doc = {
        "version": CHECKPOINT_VERSION,
        "identity": _identity(cfg, objective, embedder, start),
        "beam": beam,
        "history": [asdict(s) for s in history],
    }
    write_text_atomic(path, json.dumps(doc))


def _load_checkpoint(
    cfg: SearchConfig, objective: MeanSCS, embedder: Embedder, start: str
) -> tuple[list[tuple[str, float]], list[Step], float] | None:
    if cfg.checkpoint is None or not Path(cfg.checkpoint).exists():
        return None
    doc = json.loads(Path(cfg.checkpoint).read_text())
    if doc.get("version") != CHECKPOINT_VERSION or doc.get("identity") != _identity(cfg, objective, embedder, start):
        raise PromptRecoveryError(
            f"checkpoint {cfg.checkpoint} belongs to another search (other targets, encoder, start or settings). "
            "Fix: delete it, or pass another --checkpoint path."
        )
    history = [Step(**s) for s in doc["history"]]
    logger.info("resuming from %s at step %d", cfg.checkpoint, len(history) - 1)
    beam = [(str(text), float(score)) for text, score in doc["beam"]]
    return beam, history, history[-1].seconds
