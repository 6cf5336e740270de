"""Few-shot LLM guesses: show the model a few solved (original, rewritten, prompt) examples, then the row,
and let it name the instruction, its answer seeded with a response prefix ("Improve this text by").

The examples for each row are its nearest training rows by edit direction (unit(E(rewritten) -
E(original)), as in retrieval), so the model sees rewrites that moved texts the same way. The answer is
cleaned to one line (``templates.clean_line``) and capped at ``max_words``. A row whose request fails
(server down, timeout, bad answer) gets an empty string: the pipeline falls back to its other members.

Settings (``FewShotConfig``; TOML ``[[member]] kind = "fewshot"``):

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
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from prompt_recovery.llm import LLM, GenerationConfig, LLMError, llm_from_options
from prompt_recovery.llm.templates import DEFAULT_PREFIX, GUESS_STOP, clean_line, guess_request
from prompt_recovery.predictors.base import Context, Features, Predictor


@dataclass(frozen=True)
class FewShotConfig:
    llm: str = "embedded"  # embedded | llamacpp | openai | hf (see llm/__init__.py)
    model: str | None = None
    base_url: str | None = None
    template: Literal["auto", "chat", "completion"] = "auto"
    concurrency: int | None = None
    timeout: float = 60.0
    retries: int = 3
    shots: int = 3
    bank_size: int = 400
    example_chars: int = 400
    query_chars: int = 800
    prefix: str = DEFAULT_PREFIX
    max_tokens: int = 24
    max_words: int = 30
    temperature: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.shots < 0 or self.bank_size < 0 or self.max_tokens < 1 or self.max_words < 1:
            raise ValueError("shots and bank_size must be >= 0; max_tokens and max_words >= 1")
        if self.base_url and "@" in urlsplit(self.base_url).netloc:
            # a member's settings are saved into the model folder: a password there would travel with it
            raise ValueError(
                "base_url must not hold credentials (user:password@): they would be saved into the model "
                "folder. Fix: set $PROMPT_RECOVERY_API_KEY (or $OPENAI_API_KEY) instead"
            )


log = logging.getLogger(__name__)


class FewShot(Predictor):
    kind = "fewshot"
    Config = FewShotConfig
    config: FewShotConfig

    def __init__(self, config: FewShotConfig | None = None) -> None:
        super().__init__(config)
        self.llm: LLM | None = None  # built on first use; tests may set it to a ScriptedLLM
        self.examples: list[tuple[str, str, str]] = []
        self.keys = np.zeros((0, 0), dtype=np.float32)

    def fit(self, train: Features, ctx: Context) -> None:
        rng = np.random.default_rng(self.config.seed)
        n = len(train.rows)
        keep = np.sort(rng.choice(n, size=min(n, self.config.bank_size), replace=False))
        rows = train.rows.iloc[keep]
        self.examples = list(zip(rows["original_text"], rows["rewritten_text"], rows["rewrite_prompt"], strict=True))
        self.keys = train.edit[keep].astype(np.float32)

    def _backend(self) -> LLM:
        if self.llm is None:
            c = self.config
            self.llm = llm_from_options(
                c.llm,
                model=c.model,
                base_url=c.base_url,
                template=c.template,
                concurrency=c.concurrency,
                timeout=c.timeout,
                retries=c.retries,
            )
        return self.llm

    def requests(self, rows: Features, chat: bool) -> list[Any]:
        """One guess request per row, with its ``shots`` nearest training examples (nearest last)."""
        c = self.config
        shots = min(c.shots, len(self.examples))
        prefix, example_chars, query_chars = c.prefix, c.example_chars, c.query_chars
        nearest = np.argsort(-(rows.edit @ self.keys.T), axis=1)[:, :shots] if shots else np.zeros((len(rows.rows), 0))
        out = []
        for i, (original, rewritten) in enumerate(
            zip(rows.rows["original_text"], rows.rows["rewritten_text"], strict=True)
        ):
            examples = [_cut_example(self.examples[j], example_chars) for j in nearest[i][::-1]]
            out.append(guess_request(examples, original, rewritten, chat=chat, prefix=prefix, max_chars=query_chars))
        return out

    def predict(self, rows: Features, ctx: Context, candidates: list[list[str]] | None = None) -> list[str]:
        c = self.config
        try:
            llm = self._backend()
        except LLMError as exc:
            log.warning("fewshot: no LLM (%s); its rows fall back", exc)
            return [""] * len(rows.rows)
        config = GenerationConfig(max_tokens=c.max_tokens, stop=GUESS_STOP, temperature=c.temperature, seed=c.seed)
        prefix, max_words = c.prefix, c.max_words
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
        return {"examples": [list(e) for e in self.examples]}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.examples = [(str(o), str(r), str(p)) for o, r, p in state["examples"]]
        self.keys = arrays["keys"]


def _cut_example(example: tuple[str, str, str], chars: int) -> tuple[str, str, str]:
    original, rewritten, prompt = example
    return original[:chars], rewritten[:chars], prompt
