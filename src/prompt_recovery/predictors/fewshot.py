"""Few-shot LLM guesses: show the model a few solved (original, rewritten, prompt) examples, then the row,
and let it name the instruction, its answer seeded with a response prefix ("Improve this text by").

The examples for each row are its nearest training rows by edit direction (unit(E(rewritten) -
E(original)), as in retrieval), so the model sees rewrites that moved texts the same way. The answer is
cleaned to one line (``templates.clean_line``) and capped at ``max_words``. A row whose request fails
(server down, timeout, bad answer) gets an empty string: the pipeline falls back to its other members.

Options (TOML ``[[member]] kind = "fewshot"``):

- ``llm`` (``embedded``), ``model``, ``base_url``, ``template`` (auto/chat/completion), ``concurrency``,
  ``timeout``, ``retries``: the backend, as for ``prompt-recovery generate``;
- ``shots`` (3), ``bank_size`` (400 training rows kept as example candidates), ``example_chars`` (400)
  and ``query_chars`` (800): how much text goes into each request;
- ``prefix`` (``"Improve this text by"``; ``""`` for none), ``max_tokens`` (24), ``max_words`` (30),
  ``temperature`` (0), ``seed`` (0).

Speed: the packaged 270M model needs seconds per row on 2 cores (mostly reading the prompt) and
guesses poorly; it proves the plumbing. Point ``llm = "openai"`` at a served instruct model for real use.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.llm import LLM, GenerationConfig, LLMError, llm_from_options
from prompt_recovery.llm.templates import DEFAULT_PREFIX, GUESS_STOP, clean_line, guess_request
from prompt_recovery.predictors.base import Features, Predictor

log = logging.getLogger(__name__)


class FewShot(Predictor):
    kind = "fewshot"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.llm: LLM | None = None  # built on first use; tests may set it to a ScriptedLLM
        self.examples: list[tuple[str, str, str]] = []
        self.keys = np.zeros((0, 0), dtype=np.float32)

    def fit(self, train: Features, embedder: Embedder) -> None:
        rng = np.random.default_rng(int(self.options.get("seed", 0)))
        n = len(train.rows)
        keep = np.sort(rng.choice(n, size=min(n, int(self.options.get("bank_size", 400))), replace=False))
        rows = train.rows.iloc[keep]
        self.examples = list(zip(rows["original_text"], rows["rewritten_text"], rows["rewrite_prompt"], strict=True))
        self.keys = train.edit[keep].astype(np.float32)

    def _backend(self) -> LLM:
        if self.llm is None:
            o = self.options
            self.llm = llm_from_options(
                str(o.get("llm", "embedded")),
                model=o.get("model"),
                base_url=o.get("base_url"),
                template=str(o.get("template", "auto")),
                concurrency=o.get("concurrency"),
                timeout=float(o.get("timeout", 60)),
                retries=int(o.get("retries", 3)),
            )
        return self.llm

    def requests(self, rows: Features, chat: bool) -> list[Any]:
        """One guess request per row, with its ``shots`` nearest training examples (nearest last)."""
        shots = min(int(self.options.get("shots", 3)), len(self.examples))
        prefix = str(self.options.get("prefix", DEFAULT_PREFIX))
        example_chars = int(self.options.get("example_chars", 400))
        query_chars = int(self.options.get("query_chars", 800))
        nearest = np.argsort(-(rows.edit @ self.keys.T), axis=1)[:, :shots] if shots else np.zeros((len(rows.rows), 0))
        out = []
        for i, (original, rewritten) in enumerate(
            zip(rows.rows["original_text"], rows.rows["rewritten_text"], strict=True)
        ):
            examples = [_cut_example(self.examples[j], example_chars) for j in nearest[i][::-1]]
            out.append(guess_request(examples, original, rewritten, chat=chat, prefix=prefix, max_chars=query_chars))
        return out

    def predict(self, rows: Features, embedder: Embedder) -> list[str]:
        o = self.options
        try:
            llm = self._backend()
        except LLMError as exc:
            log.warning("fewshot: no LLM (%s); its rows fall back", exc)
            return [""] * len(rows.rows)
        config = GenerationConfig(
            max_tokens=int(o.get("max_tokens", 24)),
            stop=GUESS_STOP,
            temperature=float(o.get("temperature", 0.0)),
            seed=int(o.get("seed", 0)),
        )
        prefix = str(o.get("prefix", DEFAULT_PREFIX))
        max_words = int(o.get("max_words", 30))
        requests = self.requests(rows, llm.chat)
        out: list[str] = []
        step = max(1, llm.concurrency)
        for start in range(0, len(requests), step):
            batch = requests[start : start + step]
            try:
                answers: list[str | None] = [c.text for c in llm.generate(batch, config)]
            except LLMError as exc:
                log.warning("fewshot: rows %d-%d failed (%s); they fall back", start, start + len(batch) - 1, exc)
                answers = [None] * len(batch)
            out += ["" if a is None else clean_line(a, prefix=prefix, max_words=max_words) for a in answers]
        return out

    def state(self) -> dict[str, Any]:
        return {**super().state(), "examples": [list(e) for e in self.examples]}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.examples = [(str(o), str(r), str(p)) for o, r, p in state["examples"]]
        self.keys = arrays["keys"]


def _cut_example(example: tuple[str, str, str], chars: int) -> tuple[str, str, str]:
    original, rewritten, prompt = example
    return original[:chars], rewritten[:chars], prompt
