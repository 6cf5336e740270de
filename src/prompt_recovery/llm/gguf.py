"""Read the key-value metadata of a GGUF file (no tensors), enough to know what a model is.

GGUF v2/v3 layout: ``b"GGUF"``, uint32 version, uint64 tensor count, uint64 key-value count, then
each key (uint64 length + UTF-8) with a uint32 value type and its value. Arrays are skipped (their
length is reported as ``"<array N>"``), so the 262,144-entry vocabulary of Gemma costs nothing.

Example::

    meta = read_gguf_metadata("gemma-3-270m-q4_k_m.gguf")
    meta["general.architecture"]          # 'gemma3'
    "tokenizer.chat_template" in meta     # False: a base model, prompt it with few-shot completions
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from prompt_recovery.llm.base import LLMError

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def _read(fh: BinaryIO, fmt: str) -> tuple[object, ...]:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)


def _string(fh: BinaryIO) -> str:
    (n,) = _read(fh, "<Q")
    assert isinstance(n, int)
    return fh.read(n).decode("utf-8", errors="replace")


def _value(fh: BinaryIO, kind: int) -> object:
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item, n = _read(fh, "<IQ")
        assert isinstance(item, int) and isinstance(n, int)
        if item in _SCALARS:
            fh.seek(n * struct.calcsize(_SCALARS[item]), 1)
        else:
            for _ in range(n):
                _value(fh, item)
        return f"<array {n}>"
    if kind not in _SCALARS:
        raise ValueError(f"unknown GGUF value type {kind}")
    return _read(fh, _SCALARS[kind])[0]


def read_gguf_metadata(path: str | Path) -> dict[str, object]:
    """All metadata keys of a GGUF file; raises ``LLMError`` for a file that is not GGUF."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise LLMError(f"{path}: not a GGUF file (no GGUF magic). Fix: pass a .gguf model file.")
            (version,) = _read(fh, "<I")
            _, n_kv = _read(fh, "<QQ")
            assert isinstance(n_kv, int)
            meta: dict[str, object] = {"gguf.version": version}
            for _ in range(n_kv):
                key = _string(fh)
                (kind,) = _read(fh, "<I")
                assert isinstance(kind, int)
                meta[key] = _value(fh, kind)
            return meta
    except (EOFError, ValueError, struct.error) as exc:
        raise LLMError(f"{path}: truncated or corrupt GGUF metadata ({exc or 'unexpected end of file'})") from None
