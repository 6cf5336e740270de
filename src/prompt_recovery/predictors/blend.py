"""Blend: average several predictors' prompt *vectors*, then invert the average once.

Averaging in embedding space keeps what the members agree on; inverting once avoids the loss of
inverting each member and concatenating strings. On the corpus validation split (MiniLM; members
trained on the train split), the retrieval vector scores 0.1260 and the attention-regression vector
0.0845; their normalised sum 0.1351, and 0.0971 once inverted to a string, against 0.0803 and 0.0857
for the members' own strings. Weighting retrieval 2:1 gives a better vector (0.1401) but a worse
string (0.0920), and the string is what gets scored: hence equal weights.

The inverted string is then refined by ``invert_steps`` (default 10) rounds of batched token search
toward the averaged vector (``search/batched.py``; ``invert_top_k`` 8 edits per row per round scored
exactly). On the same split this lifts the string from 0.0971 to 0.1014 (its fit to the vector, |cos|^3,
rose from 0.385 to 0.51-0.52 in exploratory runs on the same rows), for ~0.34 s per row
(``bench/quality.py --source corpus``: prediction of the 435 rows by every member took 359 s, against
213 s without refinement). More fit is not always more truth: two rounds of patience per row gave fit
0.549 but 0.1025 in an exploratory run of the same rows.

Options: ``parts``: a list of member specs with an optional ``weight`` (default: retrieval k=20 and
attention regression with 30 epochs, weight 1 each); ``join`` (3), ``pool`` (12), ``invert_steps``
(10; 0 turns refinement off) and ``invert_top_k`` (8) for the inversion (see ``invert.py``). In TOML::

    [[member]]
    kind = "blend"
    parts = [{kind = "retrieval", k = 20}, {kind = "regression", arch = "attention", epochs = 30, weight = 1}]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Features, Predictor
from prompt_recovery.predictors.invert import invert_member

DEFAULT_STEPS = 10  # batched token-search rounds after the joins (see the module docstring)
DEFAULT_ANCHOR = 0.25  # refine toward unit(v + 0.25 * E(joined string)) (see the module docstring)
DEFAULT_PARTS: list[dict[str, Any]] = [
    {"kind": "retrieval", "k": 20, "weight": 2.0},
    {"kind": "regression", "arch": "attention", "epochs": 30, "weight": 1.0},
    {"kind": "regression", "arch": "mlp", "weight": 1.0},
]


class Blend(Predictor):
    kind = "blend"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from prompt_recovery.predictors import PREDICTORS  # the registry imports this module

        self.parts: list[tuple[float, Predictor]] = []
        for spec in options.get("parts") or DEFAULT_PARTS:
            kind = spec.get("kind")
            if kind not in PREDICTORS or kind in ("blend", "fewshot", "constant"):
                raise ValueError(f"blend part kind {kind!r}: use a vector predictor (retrieval, regression)")
            part_options = {k: v for k, v in spec.items() if k not in ("kind", "weight")}
            self.parts.append((float(spec.get("weight", 1.0)), PREDICTORS[kind](**part_options)))
        self.bank: list[str] = []
        self.bank_vecs = np.zeros((0, 0), dtype=np.float32)

    def fit(self, train: Features, embedder: Embedder) -> None:
        for _, part in self.parts:
            part.fit(train, embedder)
        self.bank = list(dict.fromkeys(train.rows["rewrite_prompt"]))
        self.bank_vecs = embedder.encode(self.bank)

    def predict_vectors(self, rows: Features, embedder: Embedder) -> np.ndarray:
        total = np.zeros((len(rows.rows), self.bank_vecs.shape[1]), dtype=np.float32)
        for weight, part in self.parts:
            vectors = part.predict_vectors(rows, embedder)
            assert vectors is not None, f"{part.kind} gives no vectors"
            total += weight * vectors
        return total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-8)

    def predict(self, rows: Features, embedder: Embedder, extra: list[list[str]] | None = None) -> list[str]:
        vectors = self.predict_vectors(rows, embedder)
        return invert_member(
            self.options, embedder, vectors, self.bank, self.bank_vecs, extra, DEFAULT_STEPS, DEFAULT_ANCHOR
        )

    def state(self) -> dict[str, Any]:
        return {**super().state(), "bank": self.bank, "parts": [part.state() for _, part in self.parts]}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"bank_vecs": self.bank_vecs}
        for i, (_, part) in enumerate(self.parts):
            out.update({f"part{i}.{k}": v for k, v in part.arrays().items()})
        return out

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.bank, self.bank_vecs = state["bank"], arrays["bank_vecs"]
        for i, ((_, part), part_state) in enumerate(zip(self.parts, state["parts"], strict=True)):
            prefix = f"part{i}."
            part.load_state(part_state, {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
