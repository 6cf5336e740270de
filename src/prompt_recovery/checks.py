"""Argument checks for the public Python API: a wrong argument is a ``DataError`` that says what was
passed and what was expected, never a raw ``TypeError``, ``KeyError`` or empty ``AssertionError`` from
deep inside. A leaf module (imports only ``errors``), so every layer may use it.

Example::

    check_strings("Make it formal", "predictions")
    # DataError: predictions: got a str ('Make it formal'), expected a list of strings. Fix: ...
    check_rows([{"original_text": "a"}], ("original_text", "rewritten_text"), "rows")
    # DataError: rows: got a list, expected a pandas DataFrame with columns [...]. Fix: pd.DataFrame(rows)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from prompt_recovery.errors import DataError


def describe(value: object) -> str:
    """A short description of ``value`` for a message. Example: 3 -> "an int (3)"; None -> "None"."""
    if value is None:
        return "None"
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    shown = " ".join(repr(value).split())  # a DataFrame's repr on one line
    return f"{article} {name} ({shown[:60]}{'...' if len(shown) > 60 else ''})"


def check_strings(value: object, what: str) -> list[str]:
    """``value`` as a list of strings: any iterable (list, tuple, Series, array) whose items are all
    ``str``. A bare string (it would be taken character by character), a dict or a DataFrame (their
    keys or column names), and any item that is not a string are refused."""
    if isinstance(value, str | bytes | Mapping | pd.DataFrame) or not isinstance(value, Iterable):
        fix = " Fix: wrap one text in a list: [text]." if isinstance(value, str) else ""
        fix = " Fix: pass one column, e.g. df['rewrite_prompt']." if isinstance(value, pd.DataFrame) else fix
        raise DataError(f"{what}: got {describe(value)}, expected a list of strings.{fix}")
    items = list(value)
    for number, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise DataError(f"{what}, item {number}: got {describe(item)}, expected a string.")
    return items


def check_rows(value: object, require: Sequence[str], what: str = "rows") -> pd.DataFrame:
    """``value`` as a DataFrame that has the columns ``require`` (their texts are checked where used)."""
    if not isinstance(value, pd.DataFrame):
        fix = " Fix: pd.DataFrame(rows)." if isinstance(value, (list, tuple, dict)) else ""
        raise DataError(
            f"{what}: got {describe(value)}, expected a pandas DataFrame with columns {list(require)}.{fix}"
        )
    missing = [c for c in require if c not in value.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {missing}; found {list(value.columns)}. "
            f"Fix: the DataFrame needs columns {list(require)} (exact names)."
        )
    return value


def check_path(value: object, what: str) -> Path:
    """``value`` as a ``Path``: a ``str`` or ``os.PathLike``, not ``None`` or anything else."""
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise DataError(f"{what}: got {describe(value)}, expected a path (str or pathlib.Path).")


def check_matrix(value: object, what: str, ndim: int = 2, dtype: type = np.float32) -> np.ndarray:
    """``value`` as a float array with ``ndim`` dimensions ([N, D] for embeddings, [N] for scores)."""
    shape = "[N, D] (one row per text)" if ndim == 2 else "[N] (one number per row)"
    try:
        array: np.ndarray = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise DataError(f"{what}: got {describe(value)}, expected numbers of shape {shape}.") from None
    if value is None or array.ndim != ndim:
        got = "None" if value is None else f"an array of shape {list(array.shape)}"
        raise DataError(f"{what}: got {got}, expected {shape}.")
    return array


def check_embedder(value: object, what: str = "embedder") -> None:
    """Refuse an argument that is not an ``Embedder`` (anything with ``encode``): most often the
    arguments given in the wrong order."""
    if not callable(getattr(value, "encode", None)) or isinstance(value, str | bytes):
        raise DataError(
            f"{what}: got {describe(value)}, expected an Embedder (prompt_recovery.embed.load_embedder('minilm')). "
            "Fix: check the order of the arguments."
        )
