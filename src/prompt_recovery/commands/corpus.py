"""``prompt-recovery check-corpus FILE``: validate a labelled corpus (the shipped one or your own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import app, user_errors


@app.command("check-corpus")
def check_corpus_command(
    path: Annotated[Path, typer.Argument(help="Corpus table (CSV/JSONL/Parquet) with the corpus columns.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Check a corpus: empty fields, duplicate (original, prompt), unchanged rewrites, near-duplicate
    originals, unknown prompt families; print counts and length statistics. Exit 1 on problems."""
    from prompt_recovery.corpus import check_corpus
    from prompt_recovery.data import read_table

    with user_errors():
        report = check_corpus(read_table(path))
    for problem in report.errors:
        typer.echo(f"problem: {problem}", err=True)
    typer.echo(json.dumps(report.stats, indent=None if as_json else 2))
    if not report.ok:
        typer.echo(f"{len(report.errors)} problem(s) found", err=True)
        raise typer.Exit(1)
