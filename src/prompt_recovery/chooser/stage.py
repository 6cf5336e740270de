"""The chooser as a pipeline stage: turn a pipeline's state for some rows into the chooser's inputs.

``inputs`` gathers, for N rows: the reference vectors (``RowContext``: the texts' embeddings, the added
words, the mean prompt, every vector member's prediction) and the extras of each pool (the members'
join, each ensemble member's string, the mean prompt), encoding every distinct string once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from prompt_recovery.banks import PromptBank
from prompt_recovery.chooser.features import RowContext
from prompt_recovery.chooser.pool import Extra
from prompt_recovery.decency import is_decent
from prompt_recovery.predictors.base import Context, Features, Predictor, VectorPredictor

LLM_KINDS = ("fewshot", "finetuned")


def inputs(
    ctx: Context,
    rows: Features,
    members: dict[str, Predictor],
    outputs: dict[str, list[str]],
    order: list[str],
    joined: list[str],
    mean_text: str,
) -> tuple[RowContext, list[Extra]]:
    embedder = ctx.embedder
    strings = [*joined, mean_text, *(t for name in order for t in outputs.get(name, []))]
    distinct = list(dict.fromkeys(s for s in strings if s))
    known = dict(zip(distinct, embedder.encode(distinct), strict=True))
    dim = known[mean_text].shape[0]

    def vectors(texts: list[str]) -> np.ndarray:
        return np.stack([known[t] if t else np.zeros(dim, np.float32) for t in texts]).astype(np.float32)

    n = len(rows.rows)
    extras = [Extra("joined", list(joined), vectors(joined))]
    for name in order:
        if name not in outputs:
            continue
        kind = members[name].kind
        origin = "mean" if kind == "constant" else "llm" if kind in LLM_KINDS else "member"
        texts = [t if is_decent(t) else "" for t in outputs[name]]
        extras.append(Extra(origin, texts, vectors(texts)))
    extras.append(Extra("mean", [mean_text] * n, vectors([mean_text] * n)))
    member_vectors = {
        name: m.predict_vectors(rows, ctx) for name, m in members.items() if isinstance(m, VectorPredictor)
    }
    row_ctx = RowContext.of(
        embedder,
        list(rows.rows["original_text"]),
        list(rows.rows["rewritten_text"]),
        rows.original,
        rows.rewritten,
        known[mean_text],
        member_vectors,
    )
    return row_ctx, extras


def decent_mask(bank: PromptBank) -> np.ndarray:
    """[B] bool: the bank prompts with no profane word (``decency``); remembered per list of prompts,
    as every prediction chunk asks again."""
    return _decent(tuple(bank.texts)).copy()


@lru_cache(maxsize=4)
def _decent(texts: tuple[str, ...]) -> np.ndarray:
    return np.array([is_decent(t) for t in texts], dtype=bool)
