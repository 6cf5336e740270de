"""Blocks of rows for an engine that predicts elsewhere: cutting, serialising, and the shards on disk.

A run's finished blocks live in ``OUT.ray/`` (``block-NNNNNN.jsonl``, each written atomically) beside
``run.json``, the record of the run (model, bank, input, block size). A rerun resumes only a folder whose
record matches it; the rows are gathered in input order with every id exactly once.

Example::

    shards = Shards(Path("sub.csv.ray"), {"job": "predict", "input": "ab12..."})
    for i, block in enumerate(cut(rows, 256)):
        shards.write(i, predict(block))
    found = shards.gather(len(blocks), rows["id"])          # id -> record
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from prompt_recovery.errors import DataError
from prompt_recovery.fileio import write_text_atomic

RUN = "run.json"


class Shards:
    """The finished blocks of one run: ``folder/run.json`` (``meta``) and ``folder/block-NNNNNN.jsonl``.
    A folder that records another run, or holds blocks without a record, is refused (never mixed)."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder, self.meta = folder, json.loads(json.dumps(meta))
        record = folder / RUN
        if record.is_file():
            stored = json.loads(record.read_text(encoding="utf-8"))
            if stored != self.meta:
                differ = [k for k in sorted(set(stored) | set(self.meta)) if stored.get(k) != self.meta.get(k)]
                raise DataError(
                    f"{folder}: holds blocks of another run ({', '.join(differ)} differ); resuming would mix "
                    f"them. Fix: delete {folder} to start over, or choose another output path."
                )
        elif self.done():
            raise DataError(f"{folder}: holds blocks but no {RUN}. Fix: delete {folder}, or choose another output.")

    def path(self, block: int) -> Path:
        return self.folder / f"block-{block:06d}.jsonl"

    def done(self) -> set[int]:
        """Blocks already written (a block file exists whole or not at all)."""
        if not self.folder.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("block-*.jsonl")}

    def write(self, block: int, records: list[dict[str, Any]]) -> None:
        if not (self.folder / RUN).exists():
            self.folder.mkdir(exist_ok=True)
            write_text_atomic(self.folder / RUN, json.dumps(self.meta, indent=1) + "\n")
        write_text_atomic(self.path(block), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    def gather(self, blocks: int, ids: pd.Series) -> dict[str, dict[str, Any]]:
        """Every row of blocks ``0..blocks-1`` by id; ``DataError`` when an id is missing or repeats."""
        found: dict[str, dict[str, Any]] = {}
        for block in range(blocks):
            for line in self.path(block).read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record["id"] in found:
                    raise DataError(f"{self.folder}: id {record['id']!r} is in two blocks. Fix: delete the folder.")
                found[record["id"]] = record
        missing = [i for i in ids if i not in found]
        if missing or len(found) != len(ids):
            raise DataError(f"{self.folder}: {len(missing)} ids missing (e.g. {missing[:3]}). Fix: delete it, rerun.")
        return found

    def discard(self) -> None:
        for path in [*self.folder.glob("block-*.jsonl"), self.folder / RUN]:
            path.unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()


def cut(rows: pd.DataFrame, block_rows: int) -> list[pd.DataFrame]:
    """``rows`` in blocks of ``block_rows`` (the last one shorter): predict's chunks."""
    return [rows.iloc[start : start + block_rows] for start in range(0, len(rows), block_rows)]


def to_json(block: pd.DataFrame) -> str:
    return json.dumps(block.to_dict("records"), ensure_ascii=True, default=str)
