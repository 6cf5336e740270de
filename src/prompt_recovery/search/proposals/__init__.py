"""Candidate proposals, chosen by name. A new proposal is a new file plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from prompt_recovery.search.proposals.base import MOVES, Edit, Proposal, SearchContext
from prompt_recovery.search.proposals.exhaustive import Exhaustive
from prompt_recovery.search.proposals.gradient import Gradient
from prompt_recovery.search.proposals.guided import Guided
from prompt_recovery.search.proposals.pooled import Pooled

PROPOSALS: dict[str, Callable[[], Proposal]] = {
    "exhaustive": Exhaustive,
    "gradient": Gradient,
    "pooled": Pooled,
    "guided": Guided,
}


def make_proposal(name: str) -> Proposal:
    if name not in PROPOSALS:
        raise ValueError(f"unknown proposal {name!r}; choose one of {sorted(PROPOSALS)}")
    return PROPOSALS[name]()


__all__ = ["MOVES", "PROPOSALS", "Edit", "Proposal", "SearchContext", "make_proposal"]
