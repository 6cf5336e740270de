"""``prompt-recovery score``: the competition metric on a submission file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from prompt_recovery.commands import (
    DEFAULT_CACHE,
    CacheOpt,
    EncoderOpt,
    JsonOpt,
    NoCacheOpt,
    TokenizationOpt,
    app,
    cache_of,
    show_progress,
    user_errors,
)


@app.command()
def score(
    truth: Annotated[Path, typer.Argument(help="Labelled file with id, rewrite_prompt.")],
    submission: Annotated[Path, typer.Argument(help="Submission with id, rewrite_prompt.")],
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    per_row: Annotated[Path | None, typer.Option(help="Write every row's prediction and score to this CSV.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML report (per-family tables, plots, best and worst rows) here.")
    ] = None,
    signed: Annotated[bool, typer.Option(help="Score cos^3 instead of |cos|^3.")] = False,
    weights: Annotated[
        Path | None, typer.Option(help="Weight the rows by this file (id, weight), e.g. from calibrate.")
    ] = None,
    as_json: JsonOpt = False,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Score a submission against the truth with the competition metric: mean SCS and its bootstrap 95% CI.

    The competition scored with sentence-t5 (--encoder sentence-t5); the packaged MiniLM gives numbers on
    another scale.

    Examples:

        prompt-recovery score data/demo/test.csv data/demo/close_guess.csv
        prompt-recovery score truth.csv submission.csv --encoder sentence-t5 --report report.html
    """
    from prompt_recovery.data import SUBMISSION_COLUMNS, read_rows, read_weights
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.evaluation import weighted_note
    from prompt_recovery.fileio import write_table_atomic
    from prompt_recovery.guard import check_outputs
    from prompt_recovery.scoring import TRUTH_COLUMNS, score_submission

    with user_errors():
        local_encoder = [Path(encoder)] if Path(encoder).expanduser().exists() else []
        check_outputs([("--per-row", per_row), ("--report", report)], [truth, submission, weights], local_encoder)
        truth_df = read_rows(truth, require=TRUTH_COLUMNS)
        sub_df = read_rows(submission, require=SUBMISSION_COLUMNS)
        row_weights = None if weights is None else read_weights(weights, list(truth_df["id"]))
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=cache_of(cache_dir, no_cache))
        table, summary = score_submission(
            truth_df, sub_df, embedder, signed=signed, weights=row_weights, show_progress=show_progress()
        )
        if per_row is not None:
            write_table_atomic(table, per_row)
        if report is not None:
            _write_report(
                report, table, summary, truth, truth_df, submission, weights, row_weights, embedder, encoder, signed
            )
    note = weighted_note(weights, row_weights)
    kind = "cos^3" if signed else "|cos|^3"
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "encoder": encoder, "signed": signed, "weighted": bool(note)}))
    else:
        weighted = ", weighted" if note else ""
        typer.echo(
            f"mean SCS ({kind}, {encoder}{weighted}): {summary.mean:.4f}  "
            f"95% CI [{summary.ci_low:.4f}, {summary.ci_high:.4f}]  n={summary.n}"
        )
    for line in note:
        typer.echo(f"note: {line}", err=True)


def _write_report(
    path: Path,
    table: Any,
    summary: Any,
    truth: Path,
    truth_df: Any,
    submission: Path,
    weights: Path | None,
    row_weights: Any,
    embedder: Any,
    encoder: str,
    signed: bool,
) -> None:
    """The evaluation report for one submission: its rows joined with the truth's texts and columns."""
    from prompt_recovery.evaluation import REPORT_COLUMNS, run_facts, weighted_note
    from prompt_recovery.report import write_report

    name = "submission"
    extra = [c for c in REPORT_COLUMNS if c in truth_df.columns]
    rows = table.rename(columns={"prediction": f"{name}_prediction", "score": f"{name}_score"})
    rows = rows.merge(truth_df[["id", *extra]], on="id", how="left")
    facts = {
        "submission": str(submission.resolve()),
        "scoring encoder": f"{encoder} (tokenization {embedder.tokenizer.mode}, {'cos^3' if signed else '|cos|^3'})",
        **run_facts(truth, len(table), None, "", weights, row_weights),
    }
    write_report(
        path,
        rows,
        {name: summary.as_dict()},
        f"prompt-recovery score: {submission.name} against {truth.name}",
        facts=facts,
        weights=row_weights,
        warnings=weighted_note(weights, row_weights),
    )
