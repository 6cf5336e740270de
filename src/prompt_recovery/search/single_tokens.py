"""Hidden states of every token on its own, computed once per encoder and cached on disk.

``states[t]`` is the transformer's last hidden state at the content position of the one-token input
``wrap([t])`` (BERT: [CLS] t [SEP]; T5: t </s>). The ``pooled`` proposal uses them as a cheap stand-in
for the state a token would have inside a longer string.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from prompt_recovery.embed import Embedder
from prompt_recovery.progress import tqdm

logger = logging.getLogger(__name__)


@torch.inference_mode()
def single_token_states(
    embedder: Embedder,
    cache_dir: Path | None = None,
    batch_size: int = 512,
    show_progress: bool = False,
) -> np.ndarray:
    """float32 [vocab_size, H]; read from ``cache_dir`` when present, else computed (and saved)."""
    tok = embedder.tokenizer
    path = None
    if cache_dir is not None:
        key = hashlib.sha256(f"{embedder.identity}|single-token-states-v1".encode()).hexdigest()[:20]
        path = Path(cache_dir).expanduser() / f"single-token-states-{key}.npy"
        if path.exists():
            return np.load(path)
    n = tok.vocab_size
    out = np.zeros((n, embedder.input_embeddings.shape[1]), dtype=np.float32)
    pos = tok.prefix_len
    for start in tqdm(range(0, n, batch_size), desc="Single-token states", disable=not show_progress):
        batch = [tok.wrap([t]) for t in range(start, min(n, start + batch_size))]
        ids, mask = embedder.pad(batch)
        out[start : start + len(batch)] = embedder.token_states(ids, mask)[:, pos].float().numpy()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, out)
        os.replace(tmp, path)
        logger.info("cached single-token states at %s", path)
    return out
