"""The proposal contract: given the current string's token ids, suggest edits for exact scoring.

A proposal only ranks; the engine scores every proposed edit exactly (decode, re-tokenize, encode,
objective) before accepting one, so a poor proposal costs speed, never faithfulness.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.space import TokenSpace

MOVES = ("append", "insert", "replace")


@dataclass(frozen=True)
class Edit:
    """Put ``token`` into content ids: ``append`` at the end, ``insert`` before ``position``, or
    ``replace`` the id at ``position``. Example: [5, 6].apply(Edit("insert", 1, 9)) -> [5, 9, 6]."""

    move: str
    position: int
    token: int

    def apply(self, ids: Sequence[int]) -> list[int]:
        ids = list(ids)
        if self.move == "append":
            return [*ids, self.token]
        if self.move == "insert":
            return [*ids[: self.position], self.token, *ids[self.position :]]
        return [*ids[: self.position], self.token, *ids[self.position + 1 :]]


@dataclass
class SearchContext:
    """What a proposal may use: the Embedder, the objective, its token space (allowed ids, states), and
    how many positions a cheap proposal visits per step for ``insert``/``replace`` (a random sample,
    seeded, so long strings don't make a step cost grow with their length)."""

    embedder: Embedder
    objective: MeanSCS
    space: TokenSpace
    max_positions: int | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    @property
    def allowed(self) -> np.ndarray:
        """The allowed token ids [A] (``space.allowed``)."""
        return self.space.allowed

    def positions(self, move: str, n: int) -> list[int]:
        """Positions to try this step: all of them, or a sorted sample of ``max_positions``."""
        return sample_positions(move, n, self.max_positions, self.rng)


def positions(move: str, n: int) -> list[int]:
    """Every position a move can act on in a string of ``n`` content ids."""
    if move == "append":
        return [n]
    return list(range(n))


def sample_positions(move: str, n: int, limit: int | None, rng: np.random.Generator) -> list[int]:
    """``positions(move, n)``, or a sorted sample of ``limit`` of them drawn with ``rng`` when there are
    more (both search engines: a step's cost must not grow with the string's length).

    >>> sample_positions("replace", 3, 8, np.random.default_rng(0))
    [0, 1, 2]
    """
    every = positions(move, n)
    if limit is None or len(every) <= limit:
        return every
    return sorted(int(p) for p in rng.choice(every, size=limit, replace=False))


class Proposal(ABC):
    """Suggests up to ``k`` edits per call (exhaustive ignores ``k``)."""

    name: str = "base"

    def prepare(self, ctx: SearchContext) -> None:  # noqa: B027 - optional hook
        """Called once per search before the first ``propose``."""

    @abstractmethod
    def propose(self, ids: list[int], moves: Sequence[str], k: int) -> list[Edit]:
        """Edits worth scoring exactly for the string with content ids ``ids``."""

    def observe(self, edits: Sequence[Edit], scores: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Exact objective of each proposed edit, after scoring (proposals may learn from it)."""
