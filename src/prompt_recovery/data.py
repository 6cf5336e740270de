"""Row schemas: input rows, labelled rows, submissions, weights and probes, validated with errors that
name the file, the row, the column and the fix. Reading the formats and atomic writes are ``fileio``.

Columns follow the Kaggle competition: ``id, original_text, rewritten_text`` and, in labelled data,
``rewrite_prompt``. Row numbers in messages are 1-based data rows (the header is not a row).

Example::

    df = read_rows("test.csv", require=INPUT_COLUMNS)      # DataError if a column or a text is bad
    write_submission("submission.csv", df["id"], predictions)   # atomic; refuses blank predictions
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from prompt_recovery.checks import describe
from prompt_recovery.errors import DataError
from prompt_recovery.fileio import decode_text, read_bytes, read_table, write_table_atomic

INPUT_COLUMNS = ("id", "original_text", "rewritten_text")
LABELLED_COLUMNS = ("original_text", "rewritten_text", "rewrite_prompt")
SUBMISSION_COLUMNS = ("id", "rewrite_prompt")
TEXT_COLUMNS = ("original_text", "rewritten_text", "rewrite_prompt", "prompt")
DEFAULT_MAX_CHARS = 50_000  # the cap on one text: input texts, labels and bank prompts alike


def validate_rows(
    df: pd.DataFrame,
    source: str | Path,
    require: Sequence[str],
    max_chars: int = DEFAULT_MAX_CHARS,
) -> pd.DataFrame:
    """Check columns, ids and texts; return ``df`` with an ``id`` column (row numbers if absent) as str.

    Raises ``DataError`` for: a missing column (lists the columns found), an empty or missing text, a
    duplicate id, a text longer than ``max_chars``.
    """
    missing = [c for c in require if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; found {list(df.columns)}. "
            f"Fix: the file needs columns {list(require)} (header row, exact names)."
        )
    if len(df) == 0:
        raise DataError(f"{source}: no rows (only a header, or an empty file). Fix: give it at least one row.")
    df = df.copy()
    if "id" not in df.columns:
        df.insert(0, "id", [str(i) for i in range(len(df))])
    for row, value in enumerate(df["id"], start=1):
        if value is None or (isinstance(value, str) and is_blank(value)):
            raise DataError(f"{source}, row {row}, column 'id': empty id. Fix: give every row a unique id.")
        if not isinstance(value, str | int | float | np.integer | np.floating):
            raise DataError(
                f"{source}, row {row}, column 'id': {describe(value)} is not an id. "
                "Fix: an id is one string or number, not a JSON object, list or null."
            )
    df["id"] = df["id"].map(lambda v: str(v).strip())
    dupes = df["id"][df["id"].duplicated(keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        rows = [i + 1 for i in dupes.index[dupes == first][:3]]
        raise DataError(
            f"{source}, rows {rows}, column 'id': duplicate id {first!r} ({dupes.nunique()} ids repeat). "
            "Fix: ids must be unique."
        )
    for column in [c for c in TEXT_COLUMNS if c in df.columns and c in require]:
        for row, value in enumerate(df[column], start=1):
            check_text(value, f"{source}, row {row} (id {df['id'].iloc[row - 1]!r}), column {column!r}", max_chars)
    return df


# invisible letters that are not category Cf: the Hangul fillers and the blank Braille pattern
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace, control characters and invisible format
    characters (Unicode category Cf: U+200B zero-width space, U+200C/U+200D joiners, U+2060 word joiner,
    U+FEFF, U+00AD soft hyphen, ...). Example: "\u200b \u2060" -> True; "\u200bhi" -> False."""
    return all(c.isspace() or c in _FILLERS or unicodedata.category(c) in ("Cf", "Cc") for c in text)


def check_text(
    value: object,
    where: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    limit_fix: str = "shorten it, or raise the limit (--max-chars)",
) -> str:
    """``value`` when it is a string that is not blank (``is_blank``) and at most ``max_chars`` long;
    else a ``DataError`` that starts with ``where`` (the file, row or line, column) and gives the fix.
    The one check of a text, whatever the file format: input texts, labels and bank prompts."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        raise DataError(f"{where}: missing value. Fix: fill it in or drop the row.")
    if not isinstance(value, str):
        raise DataError(
            f"{where}: expected text, got {describe(value)}. Fix: give a string here, not a number, list or object."
        )
    if is_blank(value):
        invisible = " (only invisible characters)" if value.strip() else ""
        raise DataError(f"{where}: empty text{invisible}. Fix: fill it in or drop the row.")
    if len(value) > max_chars:
        raise DataError(
            f"{where}: text of {len(value):,} characters is over the limit of {max_chars:,}. Fix: {limit_fix}."
        )
    return value


def read_rows(
    path: str | Path, require: Sequence[str] = INPUT_COLUMNS, max_chars: int = DEFAULT_MAX_CHARS
) -> pd.DataFrame:
    """``read_table`` + ``validate_rows``: the one way rows enter the toolkit."""
    return validate_rows(read_table(path), path, require, max_chars)


def write_submission(
    path: str | Path, ids: Iterable[object], prompts: Iterable[object], readable: Iterable[object] | None = None
) -> None:
    """Write ``id, rewrite_prompt`` (and ``readable_prompt`` when given) atomically. A blank prediction
    is an error in the competition, so it is refused here, naming the rows."""
    df = pd.DataFrame({"id": [str(i) for i in ids], "rewrite_prompt": list(prompts)})
    if readable is not None:
        df["readable_prompt"] = pd.Series(list(readable), dtype=object)
    blank = [
        (n + 1, i)
        for n, (i, p) in enumerate(zip(df["id"], df["rewrite_prompt"], strict=True))
        if not isinstance(p, str) or is_blank(p)
    ]
    if blank:
        raise DataError(
            f"{path}: refusing to write {len(blank)} blank prediction(s), e.g. rows/ids {blank[:5]}. "
            "Fix: give every row a prediction (a constant mean prompt is a safe fallback)."
        )
    write_table_atomic(df, path)


def read_weights(path: str | Path, ids: Sequence[str]) -> np.ndarray:
    """Row weights (``id, weight``, as ``calibrate`` writes) aligned to ``ids``; every id needs one."""
    df = read_rows(path, require=("id", "weight"))
    try:
        values = df["weight"].astype(float)
    except ValueError:
        raise DataError(
            f"{path}, column 'weight': not a number somewhere. Fix: weights are non-negative numbers."
        ) from None
    if (values < 0).any() or not np.isfinite(values).all():
        row = int(np.flatnonzero((values < 0) | ~np.isfinite(values))[0]) + 1
        raise DataError(f"{path}, row {row}, column 'weight': weights must be finite and non-negative.")
    by_id = dict(zip(df["id"], values, strict=True))
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise DataError(f"{path}: no weight for {len(missing)} id(s), e.g. {missing[:5]}. Fix: one weight per row id.")
    aligned = np.array([by_id[i] for i in ids], dtype=np.float64)
    if len(aligned) and not aligned.sum() > 0:
        raise DataError(
            f"{path}, column 'weight': every weight of the {len(aligned)} row(s) scored is 0, so no mean exists. "
            "Fix: give some rows a positive weight (calibrate writes weights with mean 1)."
        )
    return aligned


def read_probes(path: str | Path) -> pd.DataFrame:
    """Leaderboard probes: ``prompt`` and ``score`` (``public_lb_score`` is accepted for ``score``)."""
    df = read_table(path)
    if "score" not in df.columns and "public_lb_score" in df.columns:
        df = df.rename(columns={"public_lb_score": "score"})
    df = validate_rows(df, path, require=("prompt", "score"))
    try:
        df["score"] = df["score"].astype(float)
    except ValueError:
        raise DataError(f"{path}, column 'score': not a number somewhere. Fix: scores like 0.62.") from None
    return df


def read_texts(
    path: str | Path, column: str = "rewrite_prompt", what: str = "target prompts", flag: str = "--column"
) -> list[str]:
    """Non-empty, stripped texts from a .txt file (one per line), a JSON list of strings, or a table column."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        text = decode_text(read_bytes(path), path, "text")
        texts = [line.strip() for line in text.split("\n")]
    elif suffix == ".json":
        text = decode_text(read_bytes(path), path, "JSON text")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}).") from None
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise DataError(f"{path}: expected a JSON list of strings")
        texts = [x.strip() for x in data]
    else:
        df = read_table(path)
        if column not in df.columns:
            raise DataError(f"{path}: no column {column!r}; found {list(df.columns)}. Fix: pass {flag} NAME.")
        texts = [str(x).strip() for x in df[column] if x is not None]
    texts = [t for t in texts if not is_blank(t)]
    if not texts:
        raise DataError(f"{path}: no non-empty {what} found")
    return texts


def read_labelled_files(
    paths: Sequence[str | Path], split_files: Sequence[str | Path] = (), split: str = "train"
) -> pd.DataFrame:
    """Labelled rows from one or more files, optionally kept to one split; ids unique across files.

    ``split_files`` (CSVs of ``id, split``; several are merged) filter the files they cover: a file none
    of whose ids they list is used whole, a file they cover must be covered entirely (a row nobody
    assigned is an error, not a silent guess), and of covered files only rows of ``split`` are kept.

    Example (the demo: the corpus train split plus the demo's own training rows)::

        rows = read_labelled_files(["data/corpus/corpus.csv", "data/demo/train.csv"], ["data/corpus/splits.csv"])
    """
    frames = [read_rows(p, require=LABELLED_COLUMNS) for p in paths]
    if not frames:
        raise DataError("no labelled file given. Fix: pass at least one CSV/JSONL/Parquet file.")
    seen: dict[str, Path] = {}
    for path, df in zip(paths, frames, strict=True):
        for row, rid in enumerate(df["id"], start=1):
            if rid in seen:
                raise DataError(
                    f"{path}, row {row}, column 'id': id {rid!r} is also in {seen[rid]}. "
                    "Fix: ids must be unique across the files (prefix one file's ids)."
                )
            seen[rid] = Path(path)
    if split_files:
        assigned: dict[str, str] = {}
        for split_path in split_files:
            splits = read_rows(split_path, require=("id", "split"))
            assigned.update(zip(splits["id"], splits["split"].map(str), strict=True))
        if not any(df["id"].isin(assigned).any() for df in frames):
            raise DataError(
                f"{', '.join(map(str, split_files))} list(s) none of the ids in {', '.join(map(str, paths))}. "
                "Fix: pass the split file that belongs to these rows."
            )
        for i, (path, df) in enumerate(zip(paths, frames, strict=True)):
            listed = df["id"].isin(assigned)
            if not listed.any():
                continue  # a file the split files don't mention is used whole
            if not listed.all():
                missing = list(df["id"][~listed][:3])
                raise DataError(
                    f"{path}: {int((~listed).sum())} row(s) have no split, e.g. ids {missing}. "
                    f"Fix: list them in a split file ({', '.join(map(str, split_files))})."
                )
            frames[i] = df[df["id"].map(assigned) == split]
        if not any(len(df) for df in frames):
            found = sorted(set(assigned.values()))
            raise DataError(f"no row is in split {split!r}; the split files name {found}. Fix: check --split.")
    rows = pd.concat(frames, ignore_index=True, sort=False)
    return rows.astype(object).where(rows.notna(), None)
