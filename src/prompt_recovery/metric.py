"""The competition metric: Sharpened Cosine Similarity (SCS) of sentence embeddings.

Row score = |cos(E(pred), E(truth))| ** 3 with E = sentence-t5-base in the competition (the exponent
3 "sharpens": 0.9 -> 0.729, 0.5 -> 0.125); the score is the mean over rows. ``signed=True`` gives
cos ** 3 instead (negative similarities then count against you).

Worked example: cos = [1.0, 0.5, -0.5] -> |cos|^3 = [1, 0.125, 0.125] -> mean 0.4167;
signed: [1, 0.125, -0.125] -> 0.3333.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXPONENT = 3


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two float arrays [N, D] -> [N] (float32 maths; zero rows give 0)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    num = np.einsum("nd,nd->n", a, b)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def scs(cos: np.ndarray, signed: bool = False) -> np.ndarray:
    """Cosines -> sharpened scores: |cos|^3 (default) or cos^3 when ``signed``."""
    cos = np.asarray(cos, dtype=np.float32)
    return cos**EXPONENT if signed else np.abs(cos) ** EXPONENT


def row_scores(pred: np.ndarray, truth: np.ndarray, signed: bool = False) -> np.ndarray:
    """Embeddings [N, D] of predictions and truths -> per-row SCS [N]."""
    return scs(cosine_rows(pred, truth), signed)


@dataclass(frozen=True)
class Summary:
    """Mean score with a percentile-bootstrap 95% confidence interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def summarize(
    scores: np.ndarray,
    weights: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Summary:
    """Mean of ``scores`` (weighted if ``weights``) and a bootstrap CI over rows (seeded, repeatable)."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if n == 0:
        raise ValueError("no scores to summarise")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = float(np.average(scores, weights=w))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    wsum = w[idx].sum(axis=1)
    boot = np.divide((scores[idx] * w[idx]).sum(axis=1), wsum, out=np.full(n_boot, mean), where=wsum > 0)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Summary(mean, float(low), float(high), n)
