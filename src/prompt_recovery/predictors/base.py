"""The predictor contract: a typed config in, fit on labelled rows, one prompt string per row out.

Every predictor sees rows through ``Features`` (the shared Embedder's vectors of the original and the
rewritten text, computed once per row set) and shared resources through ``Context`` (the Embedder and
the pipeline's one ``PromptBank``), so no two predictors embed or invert differently.

Settings are a frozen dataclass per predictor (``Config``); ``from_table`` builds one from a TOML
member table and refuses unknown keys, listing the known ones. A saved predictor is its config table,
a JSON-able ``state()`` and named float32 ``arrays()``; ``pipeline/store.py`` writes them with a format
version.

Vector predictors (retrieval, regression, blend) predict a prompt *embedding* per row and share one
way of turning it into a string (``invert.py``, settings ``InvertConfig``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from prompt_recovery.banks import PromptBank
from prompt_recovery.checks import check_rows
from prompt_recovery.config import from_table, to_table
from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.invert import InvertConfig, invert


@dataclass
class Features:
    """Embeddings of one set of rows: originals [N, D], rewrites [N, D], and prompts [N, D] when labelled."""

    rows: pd.DataFrame
    original: np.ndarray
    rewritten: np.ndarray
    prompt: np.ndarray | None = None

    @classmethod
    def of(cls, rows: pd.DataFrame, embedder: Embedder, show_progress: bool = False) -> Features:
        """Encode ``rows`` (a DataFrame with ``original_text``, ``rewritten_text`` and optionally
        ``rewrite_prompt``); ``DataError`` saying what was passed when it is not one."""
        rows = check_rows(rows, ("original_text", "rewritten_text"))
        o = embedder.encode(list(rows["original_text"]), show_progress=show_progress)
        r = embedder.encode(list(rows["rewritten_text"]), show_progress=show_progress)
        p = (
            embedder.encode(list(rows["rewrite_prompt"]), show_progress=show_progress)
            if "rewrite_prompt" in rows.columns
            else None
        )
        return cls(rows.reset_index(drop=True), o, r, p)

    @property
    def edit(self) -> np.ndarray:
        """Unit direction of the rewrite in embedding space: E(rewritten) - E(original), [N, D]."""
        return unit(self.rewritten - self.original)

    def subset(self, index: np.ndarray) -> Features:
        return Features(
            self.rows.iloc[index].reset_index(drop=True),
            self.original[index],
            self.rewritten[index],
            None if self.prompt is None else self.prompt[index],
        )


def unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero): [N, D] -> [N, D] float32."""
    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def nearest_rows(queries: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """Indices [N, k] of the ``k`` rows of ``keys`` [M, D] with the highest dot product with each row of
    ``queries`` [N, D], best first. Ranked on similarities rounded to 6 decimals with a stable sort, so
    ties go to the earlier key and a row gets the same neighbours in any batch (the tie rule)."""
    sims = queries @ keys.T  # [N, M]
    return np.argsort(-np.round(sims, 6), axis=1, kind="stable")[:, :k]


@dataclass
class Context:
    """What every member shares: the one Embedder and the pipeline's prompt bank (inversion candidates)."""

    embedder: Embedder
    bank: PromptBank
    show_progress: bool = False


class Predictor(ABC):
    """Fit on labelled features, predict strings. Subclasses set ``kind`` and ``Config`` and register
    in ``predictors.PREDICTORS``."""

    kind: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, config: Any = None) -> None:
        self.config = self.Config() if config is None else config
        if not isinstance(self.config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__}, not {type(config).__name__}")

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "") -> Predictor:
        """Build from a TOML member table without ``kind``/``name`` (unknown keys are an error)."""
        return cls(from_table(cls.Config, table, where or f"member {cls.kind}"))

    def to_table(self) -> dict[str, Any]:
        """The config as a table that ``from_table`` reads back."""
        return to_table(self.config)

    @abstractmethod
    def fit(self, train: Features, ctx: Context) -> None:
        """Learn from labelled ``train`` (``train.prompt`` is set)."""

    @abstractmethod
    def predict(self, rows: Features, ctx: Context, candidates: list[list[str]] | None = None) -> list[str]:
        """One prompt per row (empty strings where it failed: the pipeline falls back). ``candidates[i]``
        are extra strings for row i (the pipeline passes its mean prompt) that an inverting member may
        use (``warm_start``)."""

    def state(self) -> dict[str, Any]:
        """JSON-able fitted state (the config is saved separately)."""
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays to save beside the state."""
        return {}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:  # noqa: B027 - optional
        """Restore what ``state``/``arrays`` saved (after ``__init__(config)``)."""


class VectorPredictor(Predictor):
    """A predictor of prompt embeddings; strings come from inverting them against the shared bank.
    Its ``Config`` has an ``invert: InvertConfig`` field."""

    @abstractmethod
    def predict_vectors(self, rows: Features, ctx: Context) -> np.ndarray:
        """Unit prompt embeddings [N, D]."""

    @property
    def invert_config(self) -> InvertConfig:
        invert: InvertConfig = self.config.invert
        return invert

    def predict(self, rows: Features, ctx: Context, candidates: list[list[str]] | None = None) -> list[str]:
        vectors = self.predict_vectors(rows, ctx)
        extra = candidates if self.invert_config.warm_start else None
        return invert(ctx.embedder, vectors, ctx.bank, self.invert_config, extra, ctx.show_progress)
