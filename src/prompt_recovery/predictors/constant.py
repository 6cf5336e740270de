"""Constant predictor: one string for every row; the pipeline's mean prompt and last fallback.

Either given (``text``, which may be ``preset:NAME``), or a mean prompt searched on the training
prompts at fit time: start from the ``start_prompts`` most central training prompts joined
(``search/mean.py``, the one recipe ``mean-prompt`` runs too), then token search (append, replace,
insert) for up to ``max_tokens`` steps,
stopping after ``patience`` steps without a gain. ``search_seconds`` caps the search's wall time; it is
off by default because a time cap makes the result depend on the machine's speed.

TOML::

    [[member]]
    kind = "constant"
    max_tokens = 24
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from prompt_recovery import presets
from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Context, Features, Predictor
from prompt_recovery.search import MEAN_PROMPT, START_PROMPTS, MeanSCS, mean_prompt


@dataclass(frozen=True)
class ConstantConfig:
    text: str = ""  # a fixed string or preset:NAME; empty: search a mean prompt at fit time
    max_tokens: int = MEAN_PROMPT.max_added_tokens  # search steps
    start_prompts: int = START_PROMPTS  # central training prompts joined as the start string
    patience: int = MEAN_PROMPT.patience  # steps without a gain before the search stops
    top_k: int = MEAN_PROMPT.top_k  # candidates per step scored exactly
    search_seconds: float | None = None  # wall-time cap (machine-dependent result when it bites)

    def __post_init__(self) -> None:
        if self.max_tokens < 0 or self.start_prompts < 0 or self.patience < 1 or self.top_k < 1:
            raise ValueError("max_tokens and start_prompts must be >= 0; patience and top_k >= 1")
        if self.text:
            presets.resolve(self.text)  # an unknown preset is an error now, not at fit time


def search_mean_prompt(
    embedder: Embedder, targets: np.ndarray, prompts: list[str], config: ConstantConfig, show_progress: bool = False
) -> str:
    """The string with the highest mean |cos|^3 against ``targets`` [M, D] that the token search finds,
    started from the ``config.start_prompts`` of ``prompts`` most central to the targets, joined."""
    search_config = replace(
        MEAN_PROMPT,
        top_k=config.top_k,
        max_added_tokens=config.max_tokens,
        time_budget=config.search_seconds,
        patience=config.patience,
        show_progress=show_progress,
    )
    return mean_prompt(embedder, MeanSCS(targets), prompts, search_config, config.start_prompts).text


class Constant(Predictor):
    kind = "constant"
    Config = ConstantConfig
    config: ConstantConfig

    def __init__(self, config: ConstantConfig | None = None) -> None:
        super().__init__(config)
        self.text: str = presets.resolve(self.config.text) if self.config.text else ""

    def fit(self, train: Features, ctx: Context) -> None:
        if self.config.text:
            return
        assert train.prompt is not None
        prompts = list(train.rows["rewrite_prompt"])
        self.text = search_mean_prompt(ctx.embedder, train.prompt, prompts, self.config, ctx.show_progress)

    def predict(self, rows: Features, ctx: Context, candidates: list[list[str]] | None = None) -> list[str]:
        return [self.text] * len(rows.rows)

    def state(self) -> dict[str, Any]:
        return {"text": self.text}

    def load_state(self, state: dict[str, Any], arrays: dict) -> None:
        self.text = state["text"]
