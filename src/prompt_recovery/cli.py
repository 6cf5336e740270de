"""Command line: ``prompt-recovery COMMAND``. Thin: parse flags, call the library, print results.

Library errors (``PromptRecoveryError``) are shown as one line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.errors import PromptRecoveryError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

DEFAULT_CACHE = Path(os.environ.get("PROMPT_RECOVERY_CACHE", Path.home() / ".cache" / "prompt-recovery"))

EncoderOpt = Annotated[
    str,
    typer.Option(
        "--encoder",
        help="'minilm' (packaged, default), 'sentence-t5' (the folder in $PROMPT_RECOVERY_SENTENCE_T5) "
        "or a sentence-transformers folder.",
    ),
]
TokenizationOpt = Annotated[
    str, typer.Option(help="auto (tf for T5, the competition's), tf, or hf (sentence-transformers').")
]
CacheOpt = Annotated[Path, typer.Option(help="Embedding cache folder.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")]


def show_progress() -> bool:
    """Progress bars on a terminal, silence in pipes and tests."""
    return sys.stderr.isatty()


@contextmanager
def user_errors() -> Iterator[None]:
    """Show library errors as one line on stderr, exit status 2, no traceback."""
    try:
        yield
    except PromptRecoveryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False) -> None:
    """Recover the instruction an LLM was given to rewrite a text."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline always: models come from packages or paths
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def score(
    truth: Annotated[Path, typer.Argument(help="Labelled file with id, rewrite_prompt.")],
    submission: Annotated[Path, typer.Argument(help="Submission with id, rewrite_prompt.")],
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    per_row: Annotated[Path | None, typer.Option(help="Write per-row scores to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (mean, ci_low, ci_high, n).")] = False,
    signed: Annotated[bool, typer.Option(help="Score cos^3 instead of |cos|^3.")] = False,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Score a submission against the truth with the competition metric (mean SCS, bootstrap 95% CI)."""
    from prompt_recovery.data import SUBMISSION_COLUMNS, read_rows, write_table_atomic
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.scoring import TRUTH_COLUMNS, score_submission

    with user_errors():
        truth_df = read_rows(truth, require=TRUTH_COLUMNS)
        sub_df = read_rows(submission, require=SUBMISSION_COLUMNS)
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=None if no_cache else cache_dir)
        table, summary = score_submission(truth_df, sub_df, embedder, signed=signed, show_progress=show_progress())
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
