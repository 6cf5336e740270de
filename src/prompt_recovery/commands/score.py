"""``prompt-recovery score``: the competition metric on a submission file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import (
    DEFAULT_CACHE,
    CacheOpt,
    EncoderOpt,
    NoCacheOpt,
    TokenizationOpt,
    app,
    show_progress,
    user_errors,
)


@app.command()
def score(
    truth: Annotated[Path, typer.Argument(help="Labelled file with id, rewrite_prompt.")],
    submission: Annotated[Path, typer.Argument(help="Submission with id, rewrite_prompt.")],
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    per_row: Annotated[Path | None, typer.Option(help="Write per-row scores to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (mean, ci_low, ci_high, n).")] = False,
    signed: Annotated[bool, typer.Option(help="Score cos^3 instead of |cos|^3.")] = False,
    weights: Annotated[Path | None, typer.Option(help="Row weights (id, weight), e.g. from calibrate.")] = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Score a submission against the truth with the competition metric (mean SCS, bootstrap 95% CI)."""
    from prompt_recovery.data import (
        SUBMISSION_COLUMNS,
        check_output_path,
        read_rows,
        read_weights,
        write_table_atomic,
    )
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.scoring import TRUTH_COLUMNS, score_submission

    with user_errors():
        if per_row is not None:
            check_output_path(per_row, [truth, submission, weights], "--per-row")
        truth_df = read_rows(truth, require=TRUTH_COLUMNS)
        sub_df = read_rows(submission, require=SUBMISSION_COLUMNS)
        row_weights = None if weights is None else read_weights(weights, list(truth_df["id"]))
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=None if no_cache else cache_dir)
        table, summary = score_submission(
            truth_df, sub_df, embedder, signed=signed, weights=row_weights, show_progress=show_progress()
        )
        if per_row is not None:
            write_table_atomic(table, per_row)
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "encoder": encoder, "signed": signed}))
    else:
        kind = "cos^3" if signed else "|cos|^3"
        typer.echo(
            f"mean SCS ({kind}, {encoder}): {summary.mean:.4f}  "
            f"95% CI [{summary.ci_low:.4f}, {summary.ci_high:.4f}]  n={summary.n}"
        )
