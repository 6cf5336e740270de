"""Blend: average several vector predictors' prompt *vectors*, then invert the average once.

Averaging in embedding space keeps what the parts agree on; inverting once avoids the loss of
inverting each part and concatenating strings. Default parts: retrieval (k=20, weight 2), the
attention regression (30 epochs, weight 1), the MLP regression (weight 1) and training-free retrieval
over the pipeline's bank (``match = "bank"``, k=20, weight 1: it pulls the blend toward prompts not
written like the training ones). The inversion is warm-started (``invert.warm_start``): the pipeline's
mean prompt is a join candidate, so a row whose predicted vector is a hedge (as it is on rewrites from
other sources) can take the best generic string there is, and then 10 rounds of batched token search
refine the string, 4 edits per row scored exactly per round (``invert.steps``, ``invert.top_k``: 8
edits scored 0.0024 higher on the corpus validation split for 2.4x the strings encoded). How these were
chosen, and what they score: ``docs/decisions.md`` (``blend_sweep``, ``invert_cost``,
``bank_part_sweep``, ``cross_source``, ``blend_warm``).

A part whose settings equal another member's is fitted once and shared (``pipeline/training.py``).

TOML::

    [[member]]
    kind = "blend"
    parts = [{kind = "retrieval", k = 20, weight = 2}, {kind = "regression", arch = "attention", epochs = 30}]
    invert = {steps = 10, anchor = 0.0}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prompt_recovery.config import from_table, to_table
from prompt_recovery.errors import ConfigError
from prompt_recovery.predictors.base import Context, Features, Predictor, VectorPredictor, unit
from prompt_recovery.predictors.invert import InvertConfig

PART_KINDS = ("retrieval", "regression")


@dataclass(frozen=True)
class BlendPart:
    kind: str
    weight: float
    config: Any  # the part's own frozen config (RetrievalConfig, RegressionConfig)


def _default_parts() -> tuple[BlendPart, ...]:
    from prompt_recovery.predictors.regression import RegressionConfig
    from prompt_recovery.predictors.retrieval import RetrievalConfig

    return (
        BlendPart("retrieval", 2.0, RetrievalConfig(k=20)),
        BlendPart("regression", 1.0, RegressionConfig(arch="attention", epochs=30)),
        BlendPart("regression", 1.0, RegressionConfig(arch="mlp")),
        # training-free: the bank prompts nearest the edit direction (the osyuksel bank by default);
        # pulls the blend toward prompts not written like the training ones
        BlendPart("retrieval", 1.0, RetrievalConfig(k=20, match="bank")),
    )


@dataclass(frozen=True)
class BlendConfig:
    parts: tuple[BlendPart, ...] = field(default_factory=_default_parts)
    invert: InvertConfig = field(default_factory=lambda: InvertConfig(steps=10, top_k=4, warm_start=True))

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a blend needs at least one part")
        if all(p.weight == 0 for p in self.parts) or any(p.weight < 0 for p in self.parts):
            raise ValueError("part weights must be >= 0 and not all 0")


class Blend(VectorPredictor):
    kind = "blend"
    Config = BlendConfig
    config: BlendConfig

    def __init__(self, config: BlendConfig | None = None) -> None:
        super().__init__(config)
        from prompt_recovery.predictors import PREDICTORS  # the registry imports this module

        self.parts: list[VectorPredictor] = []
        for part in self.config.parts:
            predictor = PREDICTORS[part.kind](part.config)
            assert isinstance(predictor, VectorPredictor)
            self.parts.append(predictor)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "") -> Predictor:
        where = where or "member blend"
        table = dict(table)
        parts = table.pop("parts", None)
        config = from_table(BlendConfig, table, where)
        if parts is None:
            return cls(config)
        if not isinstance(parts, list):
            raise ConfigError(f"{where}, parts: expected a list of tables, got {parts!r}")
        built = []
        for i, spec in enumerate(parts):
            spec = dict(spec) if isinstance(spec, Mapping) else {}
            kind = spec.pop("kind", None)
            if kind not in PART_KINDS:
                raise ConfigError(f"{where}, parts[{i}]: kind {kind!r}; a part is one of {', '.join(PART_KINDS)}")
            weight = spec.pop("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ConfigError(f"{where}, parts[{i}], weight: expected a number, got {weight!r}")
            from prompt_recovery.predictors import PREDICTORS

            part_config: Any = from_table(PREDICTORS[kind].Config, spec, f"{where}, parts[{i}] ({kind})")
            built.append(BlendPart(kind, float(weight), part_config))
        try:
            return cls(BlendConfig(parts=tuple(built), invert=config.invert))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def to_table(self) -> dict[str, Any]:
        parts = [{"kind": p.kind, "weight": p.weight, **to_table(p.config)} for p in self.config.parts]
        return {"parts": parts, "invert": to_table(self.config.invert)}

    def fit(self, train: Features, ctx: Context) -> None:
        for part in self.parts:
            part.fit(train, ctx)

    def predict_vectors(self, rows: Features, ctx: Context) -> np.ndarray:
        total = np.zeros((len(rows.rows), ctx.bank.vectors.shape[1]), dtype=np.float32)
        for spec, part in zip(self.config.parts, self.parts, strict=True):
            total += spec.weight * part.predict_vectors(rows, ctx)
        return unit(total)

    def state(self) -> dict[str, Any]:
        return {"parts": [part.state() for part in self.parts]}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for i, part in enumerate(self.parts):
            out.update({f"part{i}.{k}": v for k, v in part.arrays().items()})
        return out

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        for i, (part, part_state) in enumerate(zip(self.parts, state["parts"], strict=True)):
            prefix = f"part{i}."
            part.load_state(part_state, {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
