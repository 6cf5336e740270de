"""On-disk embedding cache: one SQLite file, one row per (encoder identity, text).

The key is sha256 over the encoder's ``identity`` (model fingerprint, tokenization mode, max length,
normalisation, dtype) and the exact text, so a change to any of those misses instead of returning a
stale vector. SQLite gives atomic writes and safe concurrent readers for free.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from prompt_recovery.errors import EmbedderError

FORMAT_VERSION = 1


class EmbeddingCache:
    """Persistent ``text -> float32 vector`` store for one or more encoders.

    Example::

        cache = EmbeddingCache("~/.cache/prompt-recovery")
        cache.put("minilm|hf|256|norm|f32", ["hi"], np.ones((1, 384), np.float32))
        cache.get("minilm|hf|256|norm|f32", ["hi", "new"])  # -> {0: array([...])}
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory).expanduser() / f"embeddings-v{FORMAT_VERSION}.sqlite"
        fix = "Fix: pass another cache folder (--cache-dir), or delete this one (it is rebuilt as needed)."
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(vectors)")]
        except (OSError, sqlite3.Error) as exc:
            raise EmbedderError(f"embedding cache {self.path}: unusable ({exc}). {fix}") from None
        if columns != ["key", "vec"]:
            raise EmbedderError(f"embedding cache {self.path}: unexpected table layout {columns}. {fix}")

    @staticmethod
    def _key(identity: str, text: str) -> bytes:
        return hashlib.sha256(f"{identity}\x00{text}".encode()).digest()

    def get(self, identity: str, texts: Sequence[str], dim: int | None = None) -> dict[int, np.ndarray]:
        """Vectors found for ``texts``, by position in ``texts``. A stored value that is not a whole
        float32 vector (of ``dim`` values, when given) counts as a miss: it is recomputed and replaced."""
        found: dict[int, np.ndarray] = {}
        keys = [self._key(identity, t) for t in texts]
        for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = dict(self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk))
            for offset, key in enumerate(chunk):
                blob = rows.get(key)
                if not isinstance(blob, bytes) or len(blob) % 4 or (dim is not None and len(blob) != 4 * dim):
                    continue  # absent, truncated or of another shape: a miss
                found[start + offset] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, identity: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (self._key(identity, t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()
