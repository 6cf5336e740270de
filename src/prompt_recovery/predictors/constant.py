"""Constant predictor: one string for every row. Either given (``text``, which may be ``preset:NAME``),
or a mean prompt searched on the training prompts at fit time."""

from __future__ import annotations

from typing import Any

from prompt_recovery import presets
from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Features, Predictor
from prompt_recovery.search import MeanSCS, SearchConfig, search
from prompt_recovery.search.start import central_start


class Constant(Predictor):
    """Options: ``text`` (fixed string or preset), else ``search_seconds`` (default 60), ``max_tokens``
    (48) and ``start_prompts`` (8) for the mean-prompt search."""

    kind = "constant"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.text: str = presets.resolve(options["text"]) if options.get("text") else ""

    def fit(self, train: Features, embedder: Embedder) -> None:
        if self.text:
            return
        assert train.prompt is not None
        objective = MeanSCS(train.prompt)
        prompts = list(train.rows["rewrite_prompt"])
        start = central_start(embedder, objective, prompts, int(self.options.get("start_prompts", 8)))
        config = SearchConfig(
            moves=("append", "replace", "insert"),
            top_k=256,
            max_added_tokens=int(self.options.get("max_tokens", 48)),
            time_budget=float(self.options.get("search_seconds", 60)),
            patience=6,
            cache_dir=self.options.get("cache_dir"),
        )
        self.text = search(embedder, objective, config, init=start).text

    def predict(self, rows: Features, embedder: Embedder) -> list[str]:
        return [self.text] * len(rows.rows)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "text": self.text}

    def load_state(self, state: dict[str, Any], arrays: dict) -> None:
        self.text = state["text"]
