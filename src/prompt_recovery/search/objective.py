"""Objectives over sentence embeddings: what the token search maximises.

``MeanSCS``: weighted mean of |cos|^3 between one candidate and many target embeddings (a mean prompt).
``TargetSCS``: |cos|^3 against one target embedding (inverting a predicted embedding back to text).
Embeddings are unit rows (the Embedder normalises), so cos is a dot product.

Example: targets [[1, 0], [0, 1]], candidate [0.6, 0.8] -> (0.6^3 + 0.8^3) / 2 = 0.364.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from prompt_recovery.metric import EXPONENT


class MeanSCS:
    """Mean |cos|^3 against targets [M, D] (optional non-negative weights [M], normalised to sum 1)."""

    def __init__(self, targets: np.ndarray, weights: np.ndarray | None = None) -> None:
        t = np.asarray(targets, dtype=np.float32)
        if t.ndim != 2 or len(t) == 0:
            raise ValueError(f"targets must be a non-empty [M, D] array, got shape {t.shape}")
        self.targets = t / np.linalg.norm(t, axis=1, keepdims=True)
        w = np.ones(len(t), dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(t),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be non-negative, one per target, and not all zero")
        self.weights = (w / w.sum()).astype(np.float32)
        self._t = torch.from_numpy(self.targets)
        self._w = torch.from_numpy(self.weights)

    def score(self, embeddings: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Candidate embeddings [C, D] (unit rows) -> objective [C], exact, float32."""
        e = np.asarray(embeddings, dtype=np.float32)
        out = np.empty(len(e), dtype=np.float32)
        for start in range(0, len(e), chunk):
            cos = e[start : start + chunk] @ self.targets.T
            out[start : start + chunk] = (np.abs(cos) ** EXPONENT) @ self.weights
        return out

    def subsample(self, n: int, seed: int = 0) -> MeanSCS:
        """The same objective on at most ``n`` targets drawn with probability = weight (for cheap ranking)."""
        if len(self.targets) <= n:
            return self
        rng = np.random.default_rng(seed)
        w = self.weights.astype(np.float64)
        pick = rng.choice(len(self.targets), size=n, replace=False, p=w / w.sum())
        return MeanSCS(self.targets[pick])

    def torch_score(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Differentiable version of ``score``: [B, D] -> [B]."""
        return (embeddings @ self._t.T).abs().pow(EXPONENT) @ self._w

    def best_unit_vector(self, iters: int = 200) -> tuple[np.ndarray, float]:
        """The unit vector maximising this objective (projected gradient ascent from the weighted mean):
        an upper bound for any string's score. Returns (vector [D], objective)."""
        v = torch.from_numpy(self.weights @ self.targets).clone()
        v = (v / v.norm()).requires_grad_(True)
        opt = torch.optim.Adam([v], lr=0.01)
        for _ in range(iters):
            opt.zero_grad()
            loss = -self.torch_score((v / v.norm()).unsqueeze(0)).sum()
            loss.backward()
            opt.step()
        unit = (v / v.norm()).detach().numpy()
        return unit, float(self.score(unit[None])[0])

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.targets.tobytes())
        h.update(self.weights.tobytes())
        return h.hexdigest()[:16]


class TargetSCS(MeanSCS):
    """|cos|^3 against one target embedding [D]."""

    def __init__(self, target: np.ndarray) -> None:
        super().__init__(np.asarray(target, dtype=np.float32).reshape(1, -1))
