"""Read target prompts for a search: a .txt file (one per line), a JSON list of strings, or a column of
any table the data layer reads (CSV, JSONL, Parquet; default column ``rewrite_prompt``)."""

from __future__ import annotations

from pathlib import Path

from prompt_recovery.data import read_texts


def read_targets(path: str | Path, column: str = "rewrite_prompt") -> list[str]:
    return read_texts(path, column, "target prompts")
