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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from prompt_recovery.commands._help import App
from prompt_recovery.errors import PromptRecoveryError

app = App(no_args_is_help=True, add_completion=False)
T = TypeVar("T")

DEFAULT_CACHE = Path(os.environ.get("PROMPT_RECOVERY_CACHE", Path.home() / ".cache" / "prompt-recovery"))

EncoderOpt = Annotated[
    str,
    typer.Option(
        "--encoder",
        metavar="ENCODER",
        help="Sentence encoder: 'minilm' (packaged), 'sentence-t5' (the folder in $PROMPT_RECOVERY_SENTENCE_T5) "
        "or a sentence-transformers folder.",
    ),
]
TokenizationOpt = Annotated[
    str,
    typer.Option(
        metavar="auto|tf|hf",
        help="Tokenization: auto (tf for T5, as the competition scored), tf, or hf (sentence-transformers').",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
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


CacheOpt = Annotated[
    Path,
    typer.Option(
        metavar="FOLDER",
        help="Embedding cache folder.",
        callback=check_cache_dir,
        show_default="$PROMPT_RECOVERY_CACHE or ~/.cache/prompt-recovery",
    ),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the embedding cache.")]


def cache_of(cache_dir: Path, no_cache: bool) -> Path | None:
    """The cache folder to use: ``None`` (no cache) with ``--no-cache``."""
    return None if no_cache else cache_dir


PROGRESS = {"on": True}  # set by the app's --progress/--no-progress


def show_progress() -> bool:
    """Progress on (the default: bars on a terminal, a line every 30 s in logs and pipes, see
    ``prompt_recovery.progress``) unless ``--no-progress``."""
    return PROGRESS["on"]


def renamed(new: T | None, old: T | None, old_flag: str, new_flag: str) -> T | None:
    """The value of an option given by its new name, or by its old one with a deprecation note on
    stderr (both at once is an error): ``renamed(sample, max_rows, "--max-rows", "--sample")``."""
    if old is None:
        return new
    if new is not None:
        typer.echo(f"error: {old_flag} is the old name of {new_flag}; give only {new_flag}.", err=True)
        raise typer.Exit(2)
    typer.echo(f"note: {old_flag} is deprecated; use {new_flag} (it works the same).", err=True)
    return old


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


class EchoHandler(logging.Handler):
    """Log records on stderr as ``warning: ...`` lines (``DEBUG name: ...`` with ``--verbose``), written
    through ``typer.echo`` so that they reach whatever stderr is at the time (a terminal, a test runner)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(logging.DEBUG if verbose else logging.INFO)
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and not self.verbose:
            if record.name != "prompt_recovery.progress" or not PROGRESS["on"]:
                return
            typer.echo(record.getMessage(), err=True)  # a stage of a long job: a plain line
            return
        try:
            message = record.getMessage()
            if self.verbose:
                typer.echo(f"{record.levelname} {record.name}: {message}", err=True)
            else:
                typer.echo(f"{record.levelname.lower()}: {message}", err=True)
        except Exception:
            self.handleError(record)


def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"prompt-recovery {version('prompt-recovery')}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress",
            help="Progress on stderr: bars on a terminal, a line per stage and every 30 s elsewhere.",
        ),
    ] = True,
) -> None:
    """Recover the instruction an LLM was given to rewrite a text.

    Start with `prompt-recovery train`, `predict` and `score`; every command has its own -h.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline always: models come from packages or paths
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, EchoHandler)]:
        root.removeHandler(handler)
    root.addHandler(EchoHandler(verbose))
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    PROGRESS["on"] = progress
    logging.getLogger("prompt_recovery.progress").setLevel(logging.INFO if progress else logging.WARNING)


def load_commands() -> None:
    """Import every command module of this package (each registers itself on ``app``)."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
