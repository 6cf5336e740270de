"""A LoRA fine-tuned LLM names the instruction directly: no shots, the adapter learned the task.

The adapter comes from ``prompt-recovery finetune`` (a folder with ``finetune.json``); the member loads
its base with the adapter folded in and generates through the ``transformers`` backend, one row at a
time, with the request the model was trained on (``finetune.data.render_prompt``). Answers are cleaned
as ``fewshot`` cleans them (``templates.clean_line``: one line, the response prefix joined back, capped
at ``max_words``); a row whose generation fails, or whose cleaned answer is blank, gets an empty string
and the pipeline falls back to its other members, as for ``fewshot``. An adapter that is missing or
damaged is a ``FinetuneError`` naming the file when the model is loaded (or fitted), before any row.

Settings (``FinetunedConfig``; TOML ``[[member]] kind = "finetuned"``):

- ``adapter`` (required): the ``--out`` folder of ``prompt-recovery finetune``;
- ``max_tokens`` (32), ``max_words`` (30), ``temperature`` (0), ``seed`` (0), ``device`` (``cpu``);
- ``prefix`` and ``max_text_tokens``: None (default) uses the values the adapter was trained with.

Example::

    member = Finetuned(FinetunedConfig(adapter="runs/gemma-lora"))
    member.predict(Features.of(rows, embedder), ctx)   # ['Rewrite it as a sea shanty.', ...]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prompt_recovery.llm import LLM, GenerationConfig, LLMError
from prompt_recovery.llm.templates import GUESS_STOP, clean_line
from prompt_recovery.predictors.base import Context, Features, Predictor
from prompt_recovery.progress import tqdm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetunedConfig:
    """Settings of the ``finetuned`` member; see the module docstring."""

    adapter: str = ""
    max_tokens: int = 32
    max_words: int = 30
    temperature: float = 0.0
    seed: int = 0
    device: str = "cpu"
    prefix: str | None = None
    max_text_tokens: int | None = None

    def __post_init__(self) -> None:
        if not str(self.adapter).strip():
            raise ValueError("adapter is not set. Fix: adapter = the --out folder of `prompt-recovery finetune`")
        for name in ("max_tokens", "max_words"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, but it was: {getattr(self, name)}")
        if self.max_text_tokens is not None and self.max_text_tokens < 1:
            raise ValueError(f"max_text_tokens must be at least 1 (or unset), but it was: {self.max_text_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, but it was: {self.temperature}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be cpu, cuda or cuda:N, but it was: {self.device!r}")


class Finetuned(Predictor):
    kind = "finetuned"
    Config = FinetunedConfig
    config: FinetunedConfig

    def __init__(self, config: FinetunedConfig | None = None) -> None:
        super().__init__(config)
        self.llm: LLM | None = None  # built on first use; tests may set it
        self.meta: dict[str, Any] = {}

    def fit(self, train: Features, ctx: Context) -> None:
        """Nothing to learn here (``prompt-recovery finetune`` trained the adapter); checks it is finished and whole."""
        from prompt_recovery.finetune.model import check_adapter

        self.meta = check_adapter(self.config.adapter)

    def _backend(self) -> LLM:
        if self.llm is None:
            from prompt_recovery.finetune.model import AdapterLLM, load_finetuned

            model, tokenizer, self.meta = load_finetuned(self.config.adapter, device=self.config.device)
            self.llm = AdapterLLM(model, tokenizer, device=self.config.device, name=Path(self.config.adapter).name)
        return self.llm

    def prefix(self) -> str:
        trained = str(self.meta.get("config", {}).get("prefix", ""))
        return trained if self.config.prefix is None else self.config.prefix

    def requests(self, rows: Features) -> list[str]:
        """The rendered request of every row, as in training."""
        from prompt_recovery.finetune.data import render_prompt

        tokenizer = getattr(self.llm, "tokenizer", None)
        trained = self.meta.get("config", {})
        budget = self.config.max_text_tokens or int(trained.get("max_text_tokens", 256))
        chat = bool(self.meta.get("chat", False))
        return [
            render_prompt(tokenizer, str(o), str(r), chat=chat, prefix=self.prefix(), budget=budget)
            for o, r in zip(rows.rows["original_text"], rows.rows["rewritten_text"], strict=True)
        ]

    def predict(self, rows: Features, ctx: Context, candidates: list[list[str]] | None = None) -> list[str]:
        llm = self._backend()  # a missing or damaged adapter is an error naming its file, not a silent fallback
        requests = self.requests(rows)
        c = self.config
        config = GenerationConfig(max_tokens=c.max_tokens, stop=GUESS_STOP, temperature=c.temperature, seed=c.seed)
        prefix = self.prefix()
        out: list[str] = []
        for i, request in enumerate(
            tqdm(requests, desc="Fine-tuned guesses", unit="row", disable=not ctx_progress(ctx))
        ):
            try:
                answer = llm.generate([request], config)[0].text
            except LLMError as exc:
                log.warning("finetuned: row %d failed (%s); it falls back", i, exc)
                out.append("")
                continue
            out.append(clean_line(answer, prefix=prefix, max_words=c.max_words))
        return out

    def state(self) -> dict[str, Any]:
        return {"meta": self.meta}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore the adapter's record and check, before any row is predicted, that the adapter still loads
        (``FinetuneError`` naming the missing or damaged file)."""
        from prompt_recovery.finetune.model import check_adapter

        self.meta = dict(state.get("meta", {}))
        if self.llm is None:
            check_adapter(self.config.adapter)


def ctx_progress(ctx: Context | None) -> bool:
    return bool(getattr(ctx, "show_progress", False))
