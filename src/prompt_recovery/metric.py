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

from prompt_recovery.checks import check_matrix
from prompt_recovery.errors import DataError

EXPONENT = 3

# The tie rule, used wherever candidates are compared. Encoding the same string in another batch or at
# another thread count moves its score by ~1e-7 (float32 sums in a different order), so two scores
# closer than TIE_TOLERANCE are equal, and among equals the EARLIER candidate wins. A challenger must
# beat the incumbent by more than the tolerance to replace it.
TIE_TOLERANCE = 1e-6


def best_index(scores: np.ndarray | list[float], tolerance: float = TIE_TOLERANCE) -> int:
    """Index of the first score within ``tolerance`` of the maximum (-inf and NaN never win unless all are).

    Example: [0.5, 0.7, 0.7000004, 0.6] -> 1 (index 2 ties with 1 and comes later).
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("best_index of no scores")
    finite = np.where(np.isnan(values), -np.inf, values)
    top = finite.max()
    if not np.isfinite(top):
        return 0
    return int(np.flatnonzero(finite >= top - tolerance)[0])


def beats(challenger: float, incumbent: float, tolerance: float = TIE_TOLERANCE) -> bool:
    """True when ``challenger`` is better than ``incumbent`` by more than ``tolerance`` (a tie keeps the
    incumbent). Example: beats(0.5000004, 0.5) -> False; beats(0.51, 0.5) -> True."""
    return bool(challenger > incumbent + tolerance)


def rank(scores: np.ndarray | list[float], tolerance: float = TIE_TOLERANCE, limit: int | None = None) -> list[int]:
    """Indices from best to worst (the first ``limit``) under the tie rule: repeatedly take
    ``best_index`` of what is left, so near-equal scores keep their input order whatever their last bits.

    Example: [0.3, 0.7000004, 0.7, 0.1] -> [1, 2, 0, 3].
    """
    left = list(range(len(scores)))
    values = np.asarray(scores, dtype=np.float64)
    out: list[int] = []
    while left and (limit is None or len(out) < limit):
        pick = left[best_index(values[left], tolerance)]
        out.append(pick)
        left.remove(pick)
    return out


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two float arrays [N, D] -> [N] (float32 maths; zero rows give 0).
    ``DataError`` when either is not [N, D] numbers or their shapes differ."""
    a = check_matrix(a, "cosine_rows: first array")
    b = check_matrix(b, "cosine_rows: second array")
    if a.shape != b.shape:
        raise DataError(f"cosine_rows: shape mismatch: {list(a.shape)} vs {list(b.shape)}. Fix: one row each per text.")
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
    """Mean of ``scores`` (weighted if ``weights``) and a bootstrap CI over rows (seeded, repeatable).
    ``DataError`` for scores that are not [N] numbers, none at all, or weights of another length."""
    scores = check_matrix(scores, "summarize: scores", ndim=1, dtype=np.float64)
    n = len(scores)
    if n == 0:
        raise DataError("summarize: no scores to summarise. Fix: give at least one score.")
    w = np.ones(n) if weights is None else check_matrix(weights, "summarize: weights", ndim=1, dtype=np.float64)
    if len(w) != n:
        raise DataError(f"summarize: {len(w)} weights for {n} scores. Fix: one weight per score.")
    mean = float(np.average(scores, weights=w))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    wsum = w[idx].sum(axis=1)
    boot = np.divide((scores[idx] * w[idx]).sum(axis=1), wsum, out=np.full(n_boot, mean), where=wsum > 0)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Summary(mean, float(low), float(high), n)
