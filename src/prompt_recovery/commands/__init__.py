"""The Typer app and what every command shares: options, error display, progress switch.

Each command is a module in this package that registers itself on ``app`` with ``@app.command()``;
``load_commands()`` imports them all, so a new command is a new file. Commands stay thin: parse flags,
call the library, print results. Library errors (``PromptRecoveryError``) are shown as one line on
stderr with exit status 2.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.errors import PromptRecoveryError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Recover the instruction an LLM was given to rewrite a text."
)

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


def load_commands() -> None:
    """Import every command module of this package (each registers itself on ``app``)."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
