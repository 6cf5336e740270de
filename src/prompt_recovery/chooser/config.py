"""The chooser's settings: one frozen dataclass, the ``[chooser]`` table of a pipeline TOML file.

TOML::

    [chooser]
    enabled = true      # off by default
    k = 20              # bank prompts per query in each row's pool
    gate = true         # per row: the chosen prompt, it joined with the mean prompt, or the mean prompt
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChooserConfig:
    # off by default: across sources it cost 8-11% against the members' join (docs/decisions.md, chooser)
    enabled: bool = False
    k: int = 20  # bank prompts taken per query (edit direction, rewritten text, added words, each vector member)
    dedupe: float = 0.985  # candidates of one row with cos >= this are one candidate (the first kept)
    positive_share: float = 0.4  # training rows whose true prompt joins their pool (the 3rd place: 40% true)
    trees: int = 300  # LightGBM boosting rounds
    leaves: int = 15
    learning_rate: float = 0.05
    min_rows_in_leaf: int = 40
    gate: bool = True  # False: always the top candidate
    min_rows: int = 40  # fewer labelled validation rows than this: no chooser is trained (the join stays)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.k < 1 or self.trees < 1 or self.leaves < 2 or self.min_rows_in_leaf < 1:
            raise ValueError("k and trees must be >= 1, leaves >= 2, min_rows_in_leaf >= 1")
        if not 0 < self.dedupe <= 1:
            raise ValueError(f"dedupe must be in (0, 1], got {self.dedupe}")
        if not 0 <= self.positive_share <= 1:
            raise ValueError(f"positive_share must be in [0, 1], got {self.positive_share}")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if self.min_rows < 4:
            raise ValueError(f"min_rows must be >= 4 (two folds of two rows), got {self.min_rows}")
