"""Retrieval: find labelled rows whose rewrite moved the text the same way, and reuse their prompts.

Each row is keyed by its edit direction, unit(E(rewritten) - E(original)). For a new row the ``k``
most similar training rows vote: the predicted *vector* is the normalised mean of their prompt
embeddings, and the predicted *string* is that vector inverted (``invert.py``): up to ``join`` (3)
training prompts closest to it, joined greedily while the score rises.

Options: ``k`` (default 20), ``join`` (3), ``invert_steps`` (0), ``invert_top_k`` (8) and
``invert_anchor`` (0), ``match``: ``edit`` (neighbours' edit directions, default) or ``prompt`` (the
edit direction against the prompt embeddings themselves, the zero-shot variant that needs no texts in
the bank).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Features, Predictor
from prompt_recovery.predictors.invert import invert_member


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


class Retrieval(Predictor):
    kind = "retrieval"

    def fit(self, train: Features, embedder: Embedder) -> None:
        assert train.prompt is not None
        self.keys = train.edit if self.options.get("match", "edit") == "edit" else train.prompt
        self.prompt_vecs = train.prompt
        self.prompts = list(train.rows["rewrite_prompt"])

    def _neighbours(self, rows: Features) -> np.ndarray:
        k = min(int(self.options.get("k", 20)), len(self.prompts))
        sims = rows.edit @ self.keys.T
        return np.argpartition(-sims, k - 1, axis=1)[:, :k]

    def predict_vectors(self, rows: Features, embedder: Embedder) -> np.ndarray:
        return unit(self.prompt_vecs[self._neighbours(rows)].mean(axis=1))

    def predict(self, rows: Features, embedder: Embedder, extra: list[list[str]] | None = None) -> list[str]:
        vectors = self.predict_vectors(rows, embedder)
        return invert_member(self.options, embedder, vectors, self.prompts, self.prompt_vecs, extra)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "prompts": self.prompts}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys, "prompt_vecs": self.prompt_vecs}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.prompts, self.keys, self.prompt_vecs = state["prompts"], arrays["keys"], arrays["prompt_vecs"]
