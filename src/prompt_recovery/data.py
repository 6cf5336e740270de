"""Rows in and submissions out: CSV, JSONL and Parquet through pandas/pyarrow, validated with errors
that name the file, the row, the column and the fix.

Columns follow the Kaggle competition: ``id, original_text, rewritten_text`` and, in labelled data,
``rewrite_prompt``. Row numbers in messages are 1-based data rows (the header is not a row).

Example::

    df = read_rows("test.csv", require=INPUT_COLUMNS)      # DataError if a column or a text is bad
    write_submission("submission.csv", df["id"], predictions)   # atomic; refuses blank predictions
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from prompt_recovery.checks import describe
from prompt_recovery.errors import DataError

INPUT_COLUMNS = ("id", "original_text", "rewritten_text")
LABELLED_COLUMNS = ("original_text", "rewritten_text", "rewrite_prompt")
SUBMISSION_COLUMNS = ("id", "rewrite_prompt")
TEXT_COLUMNS = ("original_text", "rewritten_text", "rewrite_prompt", "prompt")
DEFAULT_MAX_CHARS = 50_000  # the cap on one text: input texts, labels and bank prompts alike
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")
# separators a table may really use, what to call it and the suffix that reads it (None: no reader)
_SEPARATORS = {
    ",": ("comma-separated", ".csv"),
    "\t": ("tab-separated", ".tsv"),
    ";": ("semicolon-separated", None),
    "|": ("pipe-separated", None),
}


# Magic bytes of formats that get mislabelled as text: (prefix, what it is, the suffix it wants).
_MAGIC = (
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"PK\x03\x04", "a zip archive (or an .xlsx workbook)", None),
    (b"\x1f\x8b", "a gzip-compressed file", None),
    (b"SQLite format 3\x00", "an SQLite database", None),
    (b"\x89PNG", "a PNG image", None),
    (b"%PDF", "a PDF document", None),
)


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of an input file, or a ``DataError`` that says why it cannot be read (missing, a folder,
    no permission)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such {what}. Fix: check the path.")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a {what}. Fix: name a file (CSV, JSONL, JSON or Parquet).")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc}). Fix: check its permissions.") from None


def decode_text(raw: bytes, path: str | Path, kind: str = "text") -> str:
    """UTF-8 text (a BOM is dropped); binary content or other encodings are a ``DataError`` naming the line."""
    path = Path(path)
    for magic, what, wants in _MAGIC:
        if raw.startswith(magic):
            fix = f"rename it to {path.with_suffix(wants).name}" if wants else f"convert it to {kind}"
            raise DataError(f"{path}: this is {what}, not {kind}. Fix: {fix}.")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise DataError(
            f"{path}, line {line}: a NUL byte at byte offset {nul}: this looks like a binary file, not {kind}. "
            "Fix: export the data as UTF-8 text."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}, line {line}: bytes that are not UTF-8 at byte offset {exc.start} "
            f"({raw[exc.start : exc.start + 4]!r}). Fix: re-save the file as UTF-8 "
            "(e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)."
        ) from None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.json`` (records) or ``.parquet`` as all-string
    columns.

    Strings like ``NA`` or ``null`` stay text (no NaN guessing); real gaps become ``None``. Parsing is
    strict: a CSV record with more or fewer fields than the header, an unclosed quote, a tab- or
    semicolon-separated file named ``.csv``, a JSONL line that is not an object, or binary content is a
    ``DataError`` naming the file and line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        read_bytes(path)  # a missing file or a folder says so first
        raise DataError(f"{path}: unknown file type {suffix!r}; use {', '.join(TABLE_SUFFIXES)}")
    raw = read_bytes(path)
    if suffix == ".parquet":
        df = _read_parquet(path, raw)
    else:
        kind = {".csv": "CSV text", ".tsv": "TSV text"}.get(suffix, "JSON text")
        text = decode_text(raw, path, kind)
        if suffix in (".csv", ".tsv"):
            df = _read_csv(path, text, "\t" if suffix == ".tsv" else ",")
        elif suffix == ".json":
            df = _read_json(path, text)
        else:
            df = _read_jsonl(path, text)
    return df.astype(object).where(df.notna(), None)


def _read_parquet(path: Path, raw: bytes) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises its own types (ArrowInvalid, OSError) for damaged files
        looks_text = b"\x00" not in raw[:4096] and raw[:1].isascii() and not raw.startswith(b"PAR1")
        hint = "it looks like text: rename it to .csv or .jsonl" if looks_text else "re-export it"
        raise DataError(f"{path}: not a readable Parquet file ({exc}). Fix: {hint}.") from None


@contextmanager
def _no_field_limit(size: int) -> Iterator[None]:
    """Lift the ``csv`` module's field size limit (131,072 characters) to ``size`` while reading: a long
    field then reaches ``validate_rows``, which names its row, column and the text cap, and an unclosed
    quote reaches the end of the file, where it is named as such."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, size))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _read_csv(path: Path, text: str, delimiter: str = ",") -> pd.DataFrame:
    """RFC 4180 through the ``csv`` module with ``strict=True``; every record must have the header's width.
    ``delimiter`` is ``,`` (``.csv``) or a tab (``.tsv``)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    records: list[list[str]] = []
    header: list[str] | None = None
    start = 1  # physical line where the record being read starts
    try:
        with _no_field_limit(len(text) + 1):
            for record in reader:
                if not record:  # a blank line
                    start = reader.line_num + 1
                    continue
                if header is None:
                    header = record
                    _check_separator(path, header, delimiter)
                    _check_header(path, header)
                elif len(record) != len(header):
                    more = "more" if len(record) > len(header) else "fewer"
                    raise DataError(
                        f"{path}, line {start}: {len(record)} fields, {more} than the header's {len(header)} "
                        f"({', '.join(header)}). Fix: quote fields that contain commas, quotes or line breaks "
                        '("like, this"), and give every row one value per column.'
                    )
                else:
                    records.append(record)
                start = reader.line_num + 1
    except csv.Error as exc:
        unclosed = "end of data" in str(exc) or "EOF" in str(exc)
        fix = (
            "a quoted field opened here never closes: close the quote, or double a quote inside a quoted "
            'field ("say ""hi""")'
            if unclosed
            else 'a quote inside a field: quote the whole field and double the inner quotes ("say ""hi""")'
        )
        raise DataError(f"{path}, line {start}: bad CSV ({exc}). Fix: {fix}.") from None
    if header is None:
        raise DataError(f"{path}: empty file (no header row). Fix: the first line names the columns.")
    return pd.DataFrame(records, columns=header, dtype=object)


def _check_separator(path: Path, header: list[str], delimiter: str) -> None:
    """Refuse a file whose header is one field that another separator splits into columns: a TSV or
    semicolon-separated file saved as ``.csv`` (its rows would otherwise fail with a misleading fix)."""
    if len(header) != 1:
        return
    for sep, (name, suffix) in _SEPARATORS.items():
        names = [n.strip() for n in header[0].split(sep)]
        if sep != delimiter and len(names) > 1 and all(names):
            fix = f"rename it to {path.with_suffix(suffix).name}" if suffix else "save it comma-separated (CSV)"
            if suffix == ".tsv":
                fix += ", or save it comma-separated (CSV)"
            raise DataError(
                f"{path}, line 1: this file looks {name} (the header {header[0]!r} is one field; split at "
                f"{sep!r} it names the columns {names}). Fix: {fix}."
            )


def _check_header(path: Path, header: list[str]) -> None:
    for number, name in enumerate(header, 1):
        if not name.strip():
            raise DataError(f"{path}, line 1, column {number}: a blank column name. Fix: name every column.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(
            f"{path}, line 1: column(s) {repeated} appear more than once. Fix: column names must be unique."
        )


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a value
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}, line {number}, column {exc.colno}: not valid JSON ({exc.msg}). "
                "Fix: one complete JSON object per line."
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}, line {number}: a JSON {type(record).__name__}, not an object. "
                'Fix: one object per line, like {"id": "a", "original_text": "..."}.'
            )
        records.append(record)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def _read_json(path: Path, text: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}).") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of row objects, got a {type(data).__name__}.")
    for number, record in enumerate(data, 1):
        if not isinstance(record, dict):
            raise DataError(f"{path}, record {number}: a JSON {type(record).__name__}, not an object.")
    return pd.DataFrame.from_records(data) if data else pd.DataFrame()


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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it over ``path``, on error delete it.
    Readers see the old file or the new one, never half of one. The new file gets the mode a plain
    ``open()`` would give it (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_path(path: str | Path, inputs: Iterable[str | Path | None] = (), flag: str = "output") -> Path:
    """Refuse, before any work, an output that cannot be written or that would overwrite an input.

    ``DataError`` (naming ``flag`` and the fix) when ``path`` is a folder, its folder is missing, is a
    file or is not writable, or ``path`` is the same file as one of ``inputs`` (symlinks and ``./``
    spellings included). Nothing is created.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{flag} {path}: is a folder. Fix: name a file inside it, e.g. {path / 'out.csv'}.")
    parent = path.parent
    if not parent.exists():
        raise DataError(
            f"{flag} {path}: the folder {parent} does not exist. Fix: create it (mkdir -p {parent}) "
            "or choose another path."
        )
    if not parent.is_dir():
        raise DataError(f"{flag} {path}: {parent} is a file, not a folder. Fix: choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DataError(f"{flag} {path}: not writable here. Fix: check the permissions or choose another path.")
    for source in inputs:
        if source is not None and same_file(path, source):
            raise DataError(
                f"{flag} {path}: is the input file {source}; writing it would destroy the input. "
                "Fix: choose another output path."
            )
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` name the same file (through links, ``..`` or another spelling)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table_atomic(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV (or .jsonl/.parquet by suffix) atomically."""
    suffix = Path(path).suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            df.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            df.to_csv(tmp, index=False)


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
