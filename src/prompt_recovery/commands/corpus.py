"""``prompt-recovery check-corpus FILE``: validate a labelled corpus (the shipped one or your own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from prompt_recovery.commands import app, user_errors


@app.command("check-corpus")
def check_corpus_command(
    path: Annotated[Path, typer.Argument(help="Labelled table (CSV/JSONL/Parquet), e.g. the output of generate.")],
    min_words: Annotated[int, typer.Option(min=1, help="Fewest words an original may have.")] = 10,
    max_words: Annotated[int, typer.Option(min=1, help="Most words an original may have.")] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the statistics and problems as one JSON object.")
    ] = False,
) -> None:
    """Check labelled rows before training on them; exit 1 when a problem is found.

    Problems: a missing column, an empty field, a duplicate id or (original, prompt) pair, a rewrite equal
    to its original, an original outside --min-words to --max-words, near-duplicate originals, and an
    unknown prompt_family. The genre and prompt_family columns are optional. The shipped corpus holds
    itself to 40-300 words (scripts/build_corpus.py).

    Examples:

        prompt-recovery check-corpus data/corpus/corpus.csv --min-words 40 --max-words 300
        prompt-recovery check-corpus triples.jsonl --json
    """
    from prompt_recovery.corpus import check_corpus
    from prompt_recovery.fileio import read_table

    with user_errors():
        report = check_corpus(read_table(path), min_words=min_words, max_words=max_words)
    if as_json:
        typer.echo(json.dumps({**report.stats, "problems": report.errors}))
    else:
        for line in _describe(report.stats):
            typer.echo(line)
    for problem in report.errors:
        typer.echo(f"problem: {problem}", err=True)
    if not report.ok:
        typer.echo(f"{len(report.errors)} problem(s) found in {path}", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo(f"no problems found in {path}")


def _describe(stats: dict[str, Any]) -> list[str]:
    """The statistics as a few lines of text (empty when the checks stopped before computing them)."""
    if not stats:
        return []

    def words(key: str) -> str:
        d = stats[key]
        return f"median {d['median']:g} (min {d['min']}, max {d['max']})"

    def counts(key: str) -> str:
        return ", ".join(f"{k} {v}" for k, v in stats[key].items()) or "(no column)"

    return [
        f"{stats['rows']} rows, {stats['originals']} originals, {stats['distinct_prompts']} distinct prompts",
        f"words: originals {words('original_words')}; prompts {words('prompt_words')}; "
        f"rewrites {words('rewrite_words')}",
        f"rewrites opening with a preamble (Sure, Here, ...): {stats['preamble_share']:.0%}",
        f"genres: {counts('genres')}",
        f"prompt families: {counts('families')}",
    ]
