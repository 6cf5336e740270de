"""The predictor contract: fit on labelled rows, predict one prompt string per row, save and load.

Every predictor sees rows through ``Features`` (the shared Embedder's vectors of the original and the
rewritten text, computed once per row set) so no two predictors embed the same text differently.

A saved predictor is a JSON-able ``state()`` plus named float32 arrays; ``pipeline.py`` writes them
into the model folder with a format version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from prompt_recovery.embed import Embedder


@dataclass
class Features:
    """Embeddings of one set of rows: originals [N, D], rewrites [N, D], and prompts [N, D] when labelled."""

    rows: pd.DataFrame
    original: np.ndarray
    rewritten: np.ndarray
    prompt: np.ndarray | None = None

    @classmethod
    def of(cls, rows: pd.DataFrame, embedder: Embedder, show_progress: bool = False) -> Features:
        o = embedder.encode(list(rows["original_text"]), show_progress=show_progress)
        r = embedder.encode(list(rows["rewritten_text"]), show_progress=show_progress)
        p = embedder.encode(list(rows["rewrite_prompt"])) if "rewrite_prompt" in rows.columns else None
        return cls(rows.reset_index(drop=True), o, r, p)

    @property
    def edit(self) -> np.ndarray:
        """Unit direction of the rewrite in embedding space: E(rewritten) - E(original), [N, D]."""
        d = self.rewritten - self.original
        return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-8)

    def subset(self, index: np.ndarray) -> Features:
        return Features(
            self.rows.iloc[index].reset_index(drop=True),
            self.original[index],
            self.rewritten[index],
            None if self.prompt is None else self.prompt[index],
        )


class Predictor(ABC):
    """Fit on labelled features, predict strings. Subclasses register in ``predictors.PREDICTORS``."""

    kind: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def fit(self, train: Features, embedder: Embedder) -> None:
        """Learn from labelled ``train`` (``train.prompt`` is set)."""

    @abstractmethod
    def predict(self, rows: Features, embedder: Embedder) -> list[str]:
        """One prompt per row (may be empty strings on failure: the pipeline falls back)."""

    def predict_vectors(self, rows: Features, embedder: Embedder) -> np.ndarray | None:
        """Predicted prompt embeddings [N, D] when the predictor has them (used for inversion), else None."""
        return None

    def state(self) -> dict[str, Any]:
        """JSON-able state (options included)."""
        return {"options": self.options}

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays to save beside the state."""
        return {}

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Predictor:
        obj = cls(**state.get("options", {}))
        obj.load_state(state, arrays)
        return obj

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:  # noqa: B027 - optional
        """Restore what ``state``/``arrays`` saved (after ``__init__(**options)``)."""
