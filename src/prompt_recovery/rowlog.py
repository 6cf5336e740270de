"""An append-only table file (JSONL or CSV) that survives ``kill -9``: the backbone of resumable jobs.

Every ``append`` writes whole records, flushes and fsyncs, so after a crash the file holds every row
appended before it plus at most one torn record at the end. Opening the log again reads the complete
records and cuts the torn tail off, so a rerun appends after the last complete row: no duplicate, no
loss. Rows are keyed by ``key`` (default ``id``); ``done`` is the set of keys already written.

The format follows the suffix: ``.jsonl``/``.ndjson`` (one JSON object per line) or ``.csv`` (RFC 4180
through the ``csv`` module, ``\\n`` line ends; a CSV record may span lines inside quotes, so the torn
tail is found by re-serialising the parsed records and keeping the longest prefix that matches).

A log can record what it belongs to: ``meta`` (model and input fingerprints, settings) is kept in a
sidecar ``<file>.meta.json`` written with the first row. Opening a log whose sidecar says otherwise
is a ``DataError`` naming what differs, before anything is read or repaired, so a rerun never mixes
rows from another model, input or setting into one file. The sidecar is also the proof of ownership:
with ``meta`` given, a non-empty file without one is someone else's (or an old version's) and is
refused, never truncated, appended to or discarded. A symbolic link at the log's or the sidecar's path
is refused too, and the file is opened without following links, so a log never writes through a link
it did not create. (``meta=None``: no record is kept; the caller vouches for the file.)

Example::

    log = RowLog("out.jsonl", columns=["id", "text"], meta={"model": fingerprint("model/")})
    if "r1" not in log.done:
        log.append([{"id": "r1", "text": "hello"}])
    log.rows                              # [{'id': 'r1', 'text': 'hello'}]
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from prompt_recovery.errors import DataError
from prompt_recovery.fileio import write_text_atomic

_JSONL = (".jsonl", ".ndjson")


class RowLog:
    """See the module docstring. ``columns`` fixes the field order (and the CSV header)."""

    def __init__(
        self, path: str | Path, columns: Sequence[str], key: str = "id", meta: Mapping[str, object] | None = None
    ) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.key = key
        self.jsonl = self.check_suffix(self.path) in _JSONL
        self.meta_path = self.path.with_name(self.path.name + ".meta.json")
        for path in (self.path, self.meta_path):
            if path.is_symlink():
                raise DataError(
                    f"{path}: is a symbolic link, which this run did not create; it never writes through one. "
                    f"Fix: remove the link or choose another output path."
                )
        if self.path.is_dir():
            raise DataError(f"{self.path}: is a folder. Fix: name a .jsonl or .csv file.")
        if self.path.exists() and not self.path.is_file():
            raise DataError(f"{self.path}: not a regular file. Fix: choose another output path.")
        self.meta = None if meta is None else json.loads(json.dumps(dict(meta)))  # as it reads back
        has_rows = self.path.exists() and self.path.stat().st_size > 0
        self._meta_written = self.meta is None or (has_rows and self._check_meta())
        self.rows: list[dict[str, str]] = self._recover() if self.path.exists() else []
        self.done = {row[key] for row in self.rows}

    @staticmethod
    def check_suffix(path: str | Path) -> str:
        """The format of a log at ``path`` (its lower-case suffix); ``DataError`` unless .jsonl/.ndjson/.csv."""
        suffix = Path(path).suffix.lower()
        if suffix not in (*_JSONL, ".csv"):
            raise DataError(f"{path}: unsupported output format {suffix!r}. Fix: name it .jsonl or .csv")
        return suffix

    def _check_meta(self) -> bool:
        """Compare the sidecar with ``self.meta`` (the log holds rows); True when it matches as written."""
        assert self.meta is not None
        if not self.meta_path.exists():
            if not self.jsonl:  # a CSV of other columns: say so first (read only, nothing is cut)
                with _open(self.path, os.O_RDONLY) as fh:
                    self._parse_csv(fh.read().decode("utf-8", errors="replace"))
            raise DataError(
                f"{self.path}: already exists and holds data, but no record ({self.meta_path.name}) says that "
                "a run of this command wrote it; resuming would rewrite it and then delete it. Fix: move it "
                "away or delete it (an unfinished file of an older version holds nothing the rerun cannot "
                "redo), or choose another output path."
            )
        try:
            stored = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{self.meta_path}: unreadable record of the run that wrote {self.path} ({exc}). "
                f"Fix: delete {self.path} and {self.meta_path} to start over, or choose another output path."
            ) from None
        if stored == self.meta:
            return True
        stored = stored if isinstance(stored, dict) else {}
        differ = [
            f"{k}: {_short(stored.get(k))} there, {_short(self.meta.get(k))} now"
            for k in sorted(set(stored) | set(self.meta))
            if stored.get(k) != self.meta.get(k)
        ]
        raise DataError(
            f"{self.path}: holds rows from another run ({'; '.join(differ)}); resuming would "
            f"mix them. Fix: delete {self.path} and {self.meta_path} to start over, or choose another output path."
        )

    def discard(self) -> None:
        """Delete the log and its sidecar (a finished job's scratch file)."""
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    # -- reading and repairing --------------------------------------------------------------------

    def _recover(self) -> list[dict[str, str]]:
        with _open(self.path, os.O_RDWR) as fh:
            raw = fh.read()
            text = raw.decode("utf-8", errors="replace")
            rows, good = self._parse_jsonl(text) if self.jsonl else self._parse_csv(text)
            good_bytes = len(text[:good].encode("utf-8"))
            if good_bytes < len(raw):  # a torn record from a killed run: cut it off before appending
                fh.truncate(good_bytes)
                os.fsync(fh.fileno())
        for number, row in enumerate(rows, 1):
            if self.key not in row:
                raise DataError(
                    f"{self.path}, row {number}: no {self.key!r} field. Fix: resume with the file this job wrote, "
                    "or choose a new output path."
                )
        return rows

    def _parse_jsonl(self, text: str) -> tuple[list[dict[str, str]], int]:
        rows: list[dict[str, str]] = []
        good = 0
        while (end := text.find("\n", good)) >= 0:  # not splitlines(): U+2028 may sit inside a value
            if not text[good:end].strip():
                good = end + 1
                continue
            try:
                record = json.loads(text[good:end])
            except json.JSONDecodeError:
                break  # a torn line
            if not isinstance(record, dict):
                break
            rows.append({k: "" if v is None else str(v) for k, v in record.items()})
            good = end + 1
        return rows, good

    def _parse_csv(self, text: str) -> tuple[list[dict[str, str]], int]:
        try:
            records = list(csv.reader(io.StringIO(text), strict=True))
        except csv.Error:
            records = []
            reader = csv.reader(io.StringIO(text), strict=True)
            while True:  # keep what parses before the broken tail
                try:
                    records.append(next(reader))
                except (csv.Error, StopIteration):
                    break
        if not records:
            return [], 0
        header = records[0]
        if header != self.columns:
            raise DataError(
                f"{self.path}: header {header} differs from the expected {self.columns}. "
                "Fix: resume with the file this job wrote, or choose a new output path."
            )
        # The file was written by _csv_text, so the longest prefix of records whose serialisation
        # matches the text is the complete part; a torn final record fails the match.
        good = len(_csv_text([header]))
        rows: list[dict[str, str]] = []
        for record in records[1:]:
            chunk = _csv_text([record])
            if len(record) != len(header) or text[good : good + len(chunk)] != chunk:
                break
            rows.append(dict(zip(header, record, strict=True)))
            good += len(chunk)
        return rows, good

    # -- writing ----------------------------------------------------------------------------------

    def append(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Write ``rows`` (dicts with the log's columns), flushed and fsynced; keys must be new."""
        new = [{c: "" if row.get(c) is None else str(row.get(c)) for c in self.columns} for row in rows]
        if not new:
            return  # nothing to write: not even a header or an empty file
        for row in new:
            if row[self.key] in self.done:
                raise DataError(f"{self.path}: {self.key} {row[self.key]!r} is already written")
            self.done.add(row[self.key])
        if not self._meta_written and new:
            write_text_atomic(self.meta_path, json.dumps(self.meta, indent=1) + "\n")
            self._meta_written = True
        if self.jsonl:
            chunk = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in new)
        else:
            header = [] if self.path.exists() and self.path.stat().st_size else [self.columns]
            chunk = _csv_text(header + [[row[c] for c in self.columns] for row in new])
        with _open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as fh:
            fh.write(chunk.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self.rows.extend(new)


def _open(path: Path, flags: int) -> io.FileIO:
    """``path`` opened unbuffered with ``flags``, never through a symbolic link (``DataError`` if it is one)."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if path.is_symlink():
            raise DataError(f"{path}: is a symbolic link; a run never writes through one. Fix: remove it.") from None
        raise exc
    return io.FileIO(fd, "r+" if flags & os.O_RDWR else "a" if flags & os.O_APPEND else "r", closefd=True)


def _csv_text(records: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue()


def _short(value: object) -> str:
    text = "nothing" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fingerprint(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes, or of a folder's visible files (names and bytes, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = (
        [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    )
    for file in files:
        if file != path:
            digest.update(file.relative_to(path).as_posix().encode() + b"\x00")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
