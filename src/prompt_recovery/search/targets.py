"""Read target prompts for a search: a .txt file (one per line), a JSON list of strings, or a column of
any table the data layer reads (CSV, JSONL, Parquet; default column ``rewrite_prompt``)."""

from __future__ import annotations

import json
from pathlib import Path

from prompt_recovery.data import read_table
from prompt_recovery.errors import DataError


def read_targets(path: str | Path, column: str = "rewrite_prompt") -> list[str]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    elif suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise DataError(f"{path}: expected a JSON list of strings")
        texts = [x.strip() for x in data]
    else:
        df = read_table(path)
        if column not in df.columns:
            raise DataError(f"{path}: no column {column!r}; found {list(df.columns)}. Fix: pass --column NAME.")
        texts = [str(x).strip() for x in df[column] if x is not None]
    texts = [t for t in texts if t]
    if not texts:
        raise DataError(f"{path}: no non-empty target prompts found")
    return texts
