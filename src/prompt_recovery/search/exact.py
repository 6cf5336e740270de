"""What every search shares: scoring candidate strings exactly, and one rule for a time budget.

Both searches (``engine.search``: one objective, greedy or beam; ``batched.refine``: one target vector
per row, every row in step) score a candidate as the string it decodes to, re-tokenized, so a reported
score is what the scorer gives that string; a string that is empty or longer than the model's content
window scores -inf. Their budgets follow one rule: a step that the previous step's duration says would
end past the deadline is not begun, so a run stops in time instead of overrunning by a step.

Example::

    vectors, ok = encode_strings(embedder, ["make it formal", ""], max_content=126)   # ok == [True, False]
    budget = Budget(60.0)
    while budget.allows_step():
        ...                                                                            # one step
        budget.step_done()
"""

from __future__ import annotations

import time

import numpy as np

from prompt_recovery.embed import Embedder


def encode_strings(
    embedder: Embedder, texts: list[str], max_content: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors [K, D] of the ``texts`` that fit (non-empty, at most ``max_content`` tokens once
    re-tokenized), and the mask [N] of which did (``K = mask.sum()``)."""
    tok = embedder.tokenizer
    plain = [tok.encode_plain(t) for t in texts]
    ok = np.array([0 < len(p) <= max_content for p in plain], dtype=bool)
    if not ok.any():
        return np.zeros((0, 0), dtype=np.float32), ok
    wrapped = [tok.wrap(plain[i]) for i in np.flatnonzero(ok)]
    return embedder.encode_ids(wrapped), ok


def max_content(embedder: Embedder, max_model_tokens: int | None = None) -> int:
    """Tokens a string may hold inside the model's window, its special tokens aside."""
    tok = embedder.tokenizer
    return (max_model_tokens or tok.max_length) - len(tok.wrap([]))


class Budget:
    """A time budget counted from construction (``time.monotonic()``): ``allows_step()`` is False once
    now plus the last step's duration passes the deadline; ``expired()`` once the deadline itself has
    passed (for work inside a step). ``seconds=None``: no budget."""

    def __init__(self, seconds: float | None, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.deadline = None if seconds is None else self.started + seconds
        self.last_step = 0.0
        self._step_began = self.started

    def allows_step(self) -> bool:
        now = time.monotonic()
        self._step_began = now
        return self.deadline is None or now + self.last_step <= self.deadline

    def step_done(self) -> None:
        self.last_step = time.monotonic() - self._step_began

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline
