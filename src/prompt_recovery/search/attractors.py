"""Attractor tokens: tokens whose repeated appending raises the mean score for this encoder.

The 1st place appended `lucrarea` many times to every prediction: under sentence-t5 that ordinary
piece sits next to `</s>`, near the centre of all prompts, so repeating it pulls any string towards the
centre. This module measures the effect for any encoder: for each allowed token t,
gain(t) = mean over base strings b of [objective(b + t * repeats) - objective(b)].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.progress import tqdm
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.vocab import VocabFilter, allowed_token_ids

DEFAULT_BASES = ("Rewrite the following text.", "Make this text more formal.", "Rewrite this as a poem.")


@dataclass
class Attractor:
    token_id: int
    piece: str
    gain: float  # mean objective gain over the base strings


def rank_attractors(
    embedder: Embedder,
    objective: MeanSCS,
    bases: tuple[str, ...] = DEFAULT_BASES,
    repeats: int = 3,
    vocab: VocabFilter | None = None,
    top: int = 20,
    show_progress: bool = False,
) -> list[Attractor]:
    """The ``top`` tokens by gain, best first. Every allowed token is scored exactly (one forward per
    token and base string)."""
    tok = embedder.tokenizer
    allowed = allowed_token_ids(tok, vocab or VocabFilter())
    base_ids = [tok.encode_plain(b) for b in bases]
    base_scores = objective.score(embedder.encode_ids([tok.wrap(ids) for ids in base_ids]))
    gains = np.zeros(len(allowed), dtype=np.float64)
    for ids, base_score in tqdm(
        list(zip(base_ids, base_scores, strict=True)), desc="Attractors", disable=not show_progress
    ):
        texts = [tok.decode(ids + [int(t)] * repeats) for t in allowed]
        vecs = embedder.encode_ids(tok.encode(texts))
        gains += objective.score(vecs) - base_score
    gains /= len(bases)
    order = np.argsort(-gains)[:top]
    return [Attractor(int(allowed[i]), tok.piece(int(allowed[i])), float(gains[i])) for i in order]
