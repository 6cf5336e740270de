"""Calibrate a validation pool against leaderboard probes.

Several top teams submitted single prompts as the prediction for every row, read the public leaderboard
score of each, then re-weighted their own labelled data so that those same prompts score the same on
it. Here that is a constrained least-squares problem rather than random subset search:

    minimise_u  || S^T u / N - t ||^2 / (P mean(t^2))  +  spread * ||u - 1||^2 / N
    subject to  u >= 0,  mean(u) = 1

with S [N, P] the SCS of each probe prompt (column) against each pool row's true prompt (row), t [P]
the probes' leaderboard scores and u [N] the row weights (1 = uniform). The fit term is relative
(divided by the probes' mean square score), so one ``spread`` suits sentence-t5 scores near 0.6 and
MiniLM scores near 0.05 alike. ``spread`` trades fit for
weights that stay near uniform (a larger effective sample size, ESS = (sum u)^2 / sum u^2).

Two checks say when the weights mislead (``Calibration.warnings``): a probe target outside the range
of that probe's row scores on the pool cannot be met by any weighting (typically: the probes were scored
with another encoder, like the shipped sentence-t5 leaderboard probes under MiniLM), and a small
effective sample size means the weighted mean rests on a handful of rows.

Worked example: two rows, one probe scoring [0.2, 0.6] on them with target 0.5 and spread -> 0:
u = [0.5, 1.5] (0.2 * 0.25 + 0.6 * 0.75 = 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import cosine_rows, scs

TINY_ESS = 0.1  # an effective sample size under this share of the rows (or under 5 rows) is a warning


@dataclass
class Calibration:
    weights: np.ndarray  # [N], mean 1
    table: pd.DataFrame  # prompt, target, uniform, calibrated, lowest, highest (row SCS of the probe)
    ess: float

    def fit_error(self, column: str) -> float:
        return float(np.sqrt(np.mean((self.table[column] - self.table["target"]) ** 2)))

    @property
    def unreachable(self) -> pd.DataFrame:
        """Probes whose target no weighting of the pool can give: outside [lowest, highest] row SCS."""
        t = self.table
        return t[(t["target"] < t["lowest"]) | (t["target"] > t["highest"])]

    @property
    def tiny(self) -> bool:
        """The weights rest on few rows: ESS under ``TINY_ESS`` of them, or under 5."""
        return self.ess < max(5.0, TINY_ESS * len(self.weights))

    def warnings(self, encoder: str = "this encoder") -> list[str]:
        """What would mislead a user of these weights, one sentence each (empty when nothing does)."""
        out = []
        bad = self.unreachable
        if len(bad):
            first = bad.iloc[0]
            out.append(
                f"{len(bad)} of {len(self.table)} probe scores cannot be reached by any weighting under {encoder} "
                f"(e.g. target {first['target']:.3f}, but the pool's row scores for that probe run "
                f"{first['lowest']:.3f} to {first['highest']:.3f}): the probes were probably scored with another "
                "encoder (the shipped leaderboard probes are sentence-t5's). Fix: calibrate with the probes' encoder "
                "(--encoder sentence-t5)."
            )
        if self.tiny:
            out.append(
                f"the weights rest on about {self.ess:.0f} of {len(self.weights)} rows (effective sample size): a "
                "score weighted by them mostly reflects those rows. Fix: raise --spread, give more rows, or check "
                "that the probes fit the encoder."
            )
        return out


def probe_matrix(embedder: Embedder, probes: list[str], truths: list[str]) -> np.ndarray:
    """SCS of every probe against every true prompt: [len(truths), len(probes)]."""
    p = embedder.encode(probes)
    t = embedder.encode(truths)
    return np.stack([scs(cosine_rows(np.repeat(p[j : j + 1], len(t), axis=0), t)) for j in range(len(p))], axis=1)


def solve_weights(
    scores: np.ndarray, targets: np.ndarray, spread: float = 1e-3, iters: int = 20000, tol: float = 1e-12
) -> np.ndarray:
    """Row weights u >= 0 with mean 1 (see the module docstring). scores [N, P], targets [P] -> [N].

    Accelerated projected gradient (FISTA) on the convex problem; the feasible set {u >= 0, sum u = N}
    is a scaled simplex with an exact O(N log N) projection, so every iterate is a valid weighting.
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    n = len(s)
    scale = len(t) * float(np.mean(t**2)) or 1.0

    def grad(u: np.ndarray) -> np.ndarray:
        return 2.0 / (n * scale) * (s @ (s.T @ u / n - t)) + 2.0 * spread / n * (u - 1.0)

    def loss(u: np.ndarray) -> float:
        return float(np.sum((s.T @ u / n - t) ** 2) / scale + spread / n * np.sum((u - 1.0) ** 2))

    lipschitz = 2.0 / (n**2 * scale) * np.linalg.norm(s, 2) ** 2 + 2.0 * spread / n
    u = y = np.ones(n)
    momentum, previous = 1.0, loss(u)
    for _ in range(iters):
        u_next = _project_scaled_simplex(y - grad(y) / lipschitz, n)
        m_next = (1 + np.sqrt(1 + 4 * momentum**2)) / 2
        y = u_next + (momentum - 1) / m_next * (u_next - u)
        u, momentum = u_next, m_next
        current = loss(u)
        if abs(previous - current) < tol:
            break
        previous = current
    return u


def _project_scaled_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of v onto {u >= 0, sum u = total} (Held et al.; Duchi et al. 2008)."""
    mu = np.sort(v)[::-1]
    cumulative = np.cumsum(mu) - total
    rho = np.nonzero(mu - cumulative / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - cumulative[rho] / (rho + 1), 0.0)


def effective_sample_size(weights: np.ndarray) -> float:
    return float(weights.sum() ** 2 / (weights**2).sum())


def calibrate(
    embedder: Embedder, probes: list[str], targets: np.ndarray, truths: list[str], spread: float = 1e-3
) -> Calibration:
    """Weights for the pool rows whose true prompts are ``truths``, so the probes score ``targets``."""
    s = probe_matrix(embedder, probes, truths)
    u = solve_weights(s, targets, spread)
    table = pd.DataFrame(
        {
            "prompt": probes,
            "target": targets,
            "uniform": s.mean(axis=0),
            "calibrated": (s * u[:, None]).mean(axis=0),
            "lowest": s.min(axis=0),
            "highest": s.max(axis=0),
        }
    )
    return Calibration(u, table, effective_sample_size(u))
