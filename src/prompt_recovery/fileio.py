"""Files: reading table formats and writing atomically; the layer under every row schema (``data``).

Readers turn CSV, TSV, JSONL, JSON records and Parquet into a DataFrame of strings, with errors that
name the file, the line and the fix (a mislabelled binary, another separator saved as ``.csv``, a
blank or repeated column name, a field over the reader's limit). Writers never leave a half-written
file: ``atomic_path`` gives a temporary path beside the target and renames it into place, with the
user's umask; ``check_output_path`` refuses an output that is a folder or an input.

Example::

    df = read_table("rows.tsv")                       # every column as str
    write_text_atomic("out/meta.json", "{}")          # out/ must exist; replaced in one rename
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from prompt_recovery.errors import DataError

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


def umask() -> int:
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
        os.chmod(tmp, 0o666 & ~umask())
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
