"""A prompt bank: known prompt strings and their embeddings, the candidates every inversion starts from.

One bank per pipeline: the training prompts (deduplicated, in first-seen order), shared by every
vector predictor and a blend's parts, saved once in the model folder. Vectors are the shared
Embedder's unit rows, float32.

Example::

    bank = PromptBank.of(["Make it formal", "As a poem", "Make it formal"], embedder)
    bank.texts                       # ['Make it formal', 'As a poem']
    bank.nearest(vectors, pool=1)    # per row of vectors [N, D]: the closest prompt, [['As a poem'], ...]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import EXPONENT


@dataclass
class PromptBank:
    texts: list[str]  # distinct prompts
    vectors: np.ndarray  # float32 [B, D], row i embeds texts[i]

    @classmethod
    def of(cls, texts: Iterable[str], embedder: Embedder, show_progress: bool = False) -> PromptBank:
        distinct = list(dict.fromkeys(t for t in texts if t))
        if not distinct:
            return cls([], np.zeros((0, 0), dtype=np.float32))
        return cls(distinct, embedder.encode(distinct, show_progress=show_progress))

    def __len__(self) -> int:
        return len(self.texts)

    def index(self, texts: Iterable[str]) -> np.ndarray:
        """Positions of ``texts`` in the bank, int64 [N] (KeyError for a text not in it)."""
        where = {t: i for i, t in enumerate(self.texts)}
        return np.array([where[t] for t in texts], dtype=np.int64)

    def known(self) -> dict[str, np.ndarray]:
        """text -> vector, for scoring bank strings without encoding them again."""
        return dict(zip(self.texts, self.vectors, strict=True))

    def nearest(self, vectors: np.ndarray, pool: int) -> list[list[str]]:
        """Per row of ``vectors`` [N, D] (unit): the ``pool`` bank prompts with the highest |cos|^3,
        best first (ties keep bank order: a stable sort)."""
        if not self.texts or pool <= 0:
            return [[] for _ in range(len(vectors))]
        scores = np.abs(vectors @ self.vectors.T) ** EXPONENT  # [N, B]
        # round away float noise before ranking so the order is the same in any batch (tie rule)
        top = np.argsort(-np.round(scores, 6), axis=1, kind="stable")[:, :pool]
        return [[self.texts[j] for j in row] for row in top]
