"""An append-only table file (JSONL or CSV) that survives ``kill -9``: the backbone of resumable jobs.

Every ``append`` writes whole records, flushes and fsyncs, so after a crash the file holds every row
appended before it plus at most one torn record at the end. Opening the log again reads the complete
records and cuts the torn tail off, so a rerun appends after the last complete row: no duplicate, no
loss. Rows are keyed by ``key`` (default ``id``); ``done`` is the set of keys already written.

The format follows the suffix: ``.jsonl``/``.ndjson`` (one JSON object per line) or ``.csv`` (RFC 4180
through the ``csv`` module, ``\\n`` line ends; a CSV record may span lines inside quotes, so the torn
tail is found by re-serialising the parsed records and keeping the longest prefix that matches).

Example::

    log = RowLog("out.jsonl", columns=["id", "text"])
    if "r1" not in log.done:
        log.append([{"id": "r1", "text": "hello"}])
    log.rows                              # [{'id': 'r1', 'text': 'hello'}]
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from prompt_recovery.errors import DataError

_JSONL = (".jsonl", ".ndjson")


class RowLog:
    """See the module docstring. ``columns`` fixes the field order (and the CSV header)."""

    def __init__(self, path: str | Path, columns: Sequence[str], key: str = "id") -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.key = key
        suffix = self.path.suffix.lower()
        if suffix not in (*_JSONL, ".csv"):
            raise DataError(f"{self.path}: unsupported output format {suffix!r}. Fix: name it .jsonl or .csv")
        self.jsonl = suffix in _JSONL
        self.rows: list[dict[str, str]] = self._recover() if self.path.exists() else []
        self.done = {row[key] for row in self.rows}

    # -- reading and repairing --------------------------------------------------------------------

    def _recover(self) -> list[dict[str, str]]:
        raw = self.path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        rows, good = self._parse_jsonl(text) if self.jsonl else self._parse_csv(text)
        good_bytes = len(text[:good].encode("utf-8"))
        if good_bytes < len(raw):  # a torn record from a killed run: cut it off before appending
            with self.path.open("r+b") as fh:
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
        for row in new:
            if row[self.key] in self.done:
                raise DataError(f"{self.path}: {self.key} {row[self.key]!r} is already written")
            self.done.add(row[self.key])
        if self.jsonl:
            chunk = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in new)
        else:
            header = [] if self.path.exists() and self.path.stat().st_size else [self.columns]
            chunk = _csv_text(header + [[row[c] for c in self.columns] for row in new])
        with self.path.open("a", encoding="utf-8", newline="") as fh:
            fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        self.rows.extend(new)


def _csv_text(records: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue()
