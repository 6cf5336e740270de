"""Score predicted prompts against true prompts with one Embedder (the competition metric end to end).

Example::

    emb = load_embedder("minilm")
    table, summary = score_submission(read_rows("truth.csv", TRUTH), read_rows("sub.csv", SUB), emb)
    summary.mean, summary.ci_low, summary.ci_high
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from prompt_recovery.checks import check_embedder, check_rows, check_strings
from prompt_recovery.embed import Embedder
from prompt_recovery.errors import DataError
from prompt_recovery.metric import Summary, cosine_rows, scs, summarize

TRUTH_COLUMNS = ("id", "rewrite_prompt")


def score_prompts(
    embedder: Embedder,
    predictions: Sequence[str],
    truths: Sequence[str],
    signed: bool = False,
    show_progress: bool = False,
) -> np.ndarray:
    """Per-row SCS [N] of ``predictions`` against ``truths``; each distinct string is encoded once.
    ``DataError`` for arguments of the wrong kind (a bare string, a non-string item, no Embedder) or
    lists of different lengths."""
    check_embedder(embedder)
    predictions = check_strings(predictions, "predictions")
    truths = check_strings(truths, "truths")
    if len(predictions) != len(truths):
        raise DataError(
            f"score_prompts: {len(predictions)} predictions for {len(truths)} truths. Fix: one prediction per truth."
        )
    unique = list(dict.fromkeys([*predictions, *truths]))
    vectors = embedder.encode(unique, show_progress=show_progress)
    where = {text: i for i, text in enumerate(unique)}
    pred = vectors[[where[t] for t in predictions]]
    true = vectors[[where[t] for t in truths]]
    return scs(cosine_rows(pred, true), signed)


def align(truth: pd.DataFrame, submission: pd.DataFrame) -> pd.DataFrame:
    """Join on ``id``; every id must be on both sides. Returns ``id, rewrite_prompt, prediction``."""
    check_rows(truth, TRUTH_COLUMNS, "truth")
    check_rows(submission, TRUTH_COLUMNS, "submission")
    t_ids, s_ids = set(truth["id"]), set(submission["id"])
    if t_ids != s_ids:
        only_t = sorted(t_ids - s_ids)[:5]
        only_s = sorted(s_ids - t_ids)[:5]
        raise DataError(
            f"ids differ: {len(t_ids - s_ids)} only in the truth (e.g. {only_t}), "
            f"{len(s_ids - t_ids)} only in the submission (e.g. {only_s}). "
            "Fix: the submission needs exactly one row per truth id."
        )
    sub = submission[["id", "rewrite_prompt"]].rename(columns={"rewrite_prompt": "prediction"})
    return truth[["id", "rewrite_prompt"]].merge(sub, on="id", how="left", validate="one_to_one")


def score_submission(
    truth: pd.DataFrame,
    submission: pd.DataFrame,
    embedder: Embedder,
    signed: bool = False,
    weights: np.ndarray | None = None,
    show_progress: bool = False,
) -> tuple[pd.DataFrame, Summary]:
    """Per-row table (``id, rewrite_prompt, prediction, score``) and the mean with its 95% CI."""
    table = align(truth, submission)
    table["score"] = score_prompts(
        embedder, list(table["prediction"]), list(table["rewrite_prompt"]), signed, show_progress
    )
    return table, summarize(table["score"].to_numpy(), weights)
