"""Running members and joining their strings: shared by training (validation) and the fitted ``Pipeline``.

Example::

    outputs = member_outputs(members, features, ctx, "Rewrite it.")   # {"constant": [...], "blend": [...]}
    join(outputs, ["blend", "constant"], "Rewrite it.")               # one string per row, never blank
"""

from __future__ import annotations

import logging

from prompt_recovery.pipeline.config import FALLBACK
from prompt_recovery.predictors import Context, Features, Predictor
from prompt_recovery.predictors.constant import Constant

logger = logging.getLogger(__name__)


def mean_prompt_of(members: dict[str, Predictor]) -> str:
    """The first constant member's string (the last fallback), else ``FALLBACK``."""
    for member in members.values():
        if isinstance(member, Constant) and member.text:
            return member.text
    return FALLBACK


def member_outputs(
    members: dict[str, Predictor], rows: Features, ctx: Context, mean_prompt: str, names: list[str] | None = None
) -> dict[str, list[str]]:
    """Each member's (or each of ``names``') stripped strings for ``rows``; a member that raises yields
    blanks (logged), not a crash. Members that warm-start get the mean prompt as an extra inversion
    candidate: only it, so that a member sees the same candidates at validation (where every member
    runs) and at prediction (where only the ensemble's members run)."""
    outputs: dict[str, list[str]] = {}
    for name, member in members.items():
        if names is not None and name not in names:
            continue
        try:
            texts = member.predict(rows, ctx, [[mean_prompt]] * len(rows.rows))
            outputs[name] = [s.strip() if isinstance(s, str) else "" for s in texts]
        except Exception as exc:
            logger.warning("member %s failed (%s); falling back for its rows", name, exc)
            outputs[name] = [""] * len(rows.rows)
    return outputs


def join(outputs: dict[str, list[str]], order: list[str], mean_prompt: str, suffix: str = "") -> list[str]:
    """Per row: the distinct non-blank strings of the members in ``order``, joined by spaces, else
    ``mean_prompt``; then `` suffix`` when given. Never blank when ``mean_prompt`` is not."""
    n = len(next(iter(outputs.values())))
    joined = []
    for i in range(n):
        parts = [outputs[name][i] for name in order if outputs[name][i]]
        text = " ".join(dict.fromkeys(parts)) or mean_prompt
        joined.append(f"{text} {suffix}" if suffix else text)
    return joined
