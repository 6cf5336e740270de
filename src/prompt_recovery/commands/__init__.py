"""The Typer app and what every command shares: options, error display, progress switch.

Each command is a module in this package that registers itself on ``app`` with ``@app.command()``;
``load_commands()`` imports them all, so a new command is a new file. Commands stay thin: parse flags,
call the library, print results. Library errors (``PromptRecoveryError``), and the file-system and
cache errors a user's environment can raise (``OSError``, ``sqlite3.Error``), are shown as one line on
stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sqlite3
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
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_cache_dir(value: Path) -> Path:
    """Refuse, before any work, a cache folder that cannot serve: a file in its place, a cache file that
    is not an SQLite database or cannot be read and written. A missing folder is fine (created on use)."""
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(
            f"{value} is a file, not a folder. Fix: pass a folder (--cache-dir DIR) or move the file."
        )
    if value.is_dir():
        if not os.access(value, os.R_OK | os.W_OK | os.X_OK):
            raise typer.BadParameter(
                f"{value}: cannot write in this folder. Fix: check its permissions or use another."
            )
        for db in sorted(value.glob("embeddings-v*.sqlite")):
            if not db.is_file() or not os.access(db, os.R_OK | os.W_OK):
                raise typer.BadParameter(f"{db}: cannot be read and written. Fix: check its permissions or delete it.")
            with db.open("rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
            if head and head != SQLITE_MAGIC:
                raise typer.BadParameter(
                    f"{db} is not an SQLite database (damaged or overwritten). Fix: delete it (the cache is "
                    "rebuilt as needed) or pass another --cache-dir."
                )
    return value


CacheOpt = Annotated[Path, typer.Option(help="Embedding cache folder.", callback=check_cache_dir)]
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
    except sqlite3.Error as exc:
        typer.echo(
            f"error: the embedding cache failed ({exc}). Fix: delete the cache folder's embeddings-v*.sqlite "
            "(it is rebuilt as needed) or pass another --cache-dir.",
            err=True,
        )
        raise typer.Exit(2) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}. Fix: check the path and its permissions.", err=True)
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
