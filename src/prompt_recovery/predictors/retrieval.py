"""Retrieval: find labelled rows whose rewrite moved the text the same way, and reuse their prompts.

Each training row is keyed by its edit direction, unit(E(rewritten) - E(original)) (``match =
"edit"``), or by its prompt embedding (``match = "prompt"``: the zero-shot variant, the edit direction
compared with prompts directly). For a new row the ``k`` most similar training rows vote: the
predicted vector is the normalised mean of their prompt embeddings, inverted to a string against the
shared bank (``invert.py``).

``match = "bank"`` is training-free: the ``k`` prompts of the pipeline's bank (training prompts plus
any ``--bank``, see ``banks.py``) with the highest cos(E(prompt), unit(E(rewritten) - E(original)))
vote, each once. It needs no labelled rows (fit learns nothing) and uses the bank it is given at
prediction time, so a bank extended for one prediction is searched too.

TOML::

    [[member]]
    kind = "retrieval"
    k = 20
    invert = {join = 3}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from prompt_recovery.predictors.base import Context, Features, VectorPredictor, nearest_rows, unit
from prompt_recovery.predictors.invert import InvertConfig


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 20  # neighbours that vote
    match: Literal["edit", "prompt", "bank"] = "edit"
    invert: InvertConfig = field(default_factory=InvertConfig)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


class Retrieval(VectorPredictor):
    kind = "retrieval"
    Config = RetrievalConfig
    config: RetrievalConfig

    def fit(self, train: Features, ctx: Context) -> None:
        if self.config.match == "bank":
            return  # training-free: the bank is read at prediction time
        assert train.prompt is not None
        self.keys = train.edit if self.config.match == "edit" else train.prompt
        self.labels = ctx.bank.index(train.rows["rewrite_prompt"])  # [N] bank row of each row's prompt

    def predict_vectors(self, rows: Features, ctx: Context) -> np.ndarray:
        keys, labels = (ctx.bank.vectors, None) if self.config.match == "bank" else (self.keys, self.labels)
        if not len(keys):
            raise ValueError("retrieval has nothing to search: an empty prompt bank")
        nbrs = nearest_rows(rows.edit, keys, min(self.config.k, len(keys)))
        return unit(ctx.bank.vectors[nbrs if labels is None else labels[nbrs]].mean(axis=1))

    def arrays(self) -> dict[str, np.ndarray]:
        return {} if self.config.match == "bank" else {"keys": self.keys, "labels": self.labels}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if self.config.match != "bank":
            self.keys, self.labels = arrays["keys"], arrays["labels"]
