"""Features of (row, candidate) pairs for the reranker: how the candidate meets the texts, not only
how near two pooled vectors are.

For a row with original o, rewritten r and candidate c (unit vectors from the shared Embedder):

- ``cos:<q>``, ``rel:<q>``, ``top:<q>``: cos(c, q), cos(c, q) minus the row's best, and the row's best
  (how familiar the row is: high when some candidate fits a member's vector closely), for every reference
  vector q: the edit direction unit(r - o), r, o, the rewrite's *added words* (content words of r
  absent from o, embedded as one string), the mean prompt, and each vector member's prediction;
- ``rank:<q>``: 1 + the candidate's rank among the bank prompts nearest query q (0: not retrieved),
  and ``retrieved``: how many queries retrieved it (agreement between queries);
- ``centre``: cos(c, the mean of the row's pool): how typical of the pool it is;
- ``origin:<o>``: where it came from (``pool.ORIGINS``);
- ``hit_added``, ``hit_rewritten``, ``hit_original``: shares of the candidate's content words whose
  stems occur among the added words, the rewritten and the original text; ``words``: its length;
- row context: cos(o, r), log(len r / len o) in characters, the number of added words.

``row_features`` computes what is per row once; ``pair_features`` stacks one [C_i, F] block per row
into [sum C_i, F] float32, columns named by ``names(...)`` (saved with the model and checked on load).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prompt_recovery.chooser.pool import ORIGINS, Pool
from prompt_recovery.chooser.words import added_words, content_words, hit_share, stems
from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import unit


@dataclass
class RowContext:
    """Per-row inputs of the features: references [N, D] by name, texts, and the added words."""

    references: dict[str, np.ndarray]
    original: list[str]
    rewritten: list[str]
    added: list[list[str]]

    @classmethod
    def of(
        cls,
        embedder: Embedder,
        original: Sequence[str],
        rewritten: Sequence[str],
        o: np.ndarray,
        r: np.ndarray,
        mean_vector: np.ndarray,
        members: dict[str, np.ndarray],
    ) -> RowContext:
        """``o``, ``r`` [N, D]; ``mean_vector`` [D]; ``members`` name -> [N, D] predicted vectors."""
        added = [added_words(a, b) for a, b in zip(original, rewritten, strict=True)]
        # a row with no added words is described by its rewritten text (the nearest thing it has)
        phrases = [" ".join(w) if w else b for w, b in zip(added, rewritten, strict=True)]
        refs = {
            "edit": unit(r - o),
            "rewritten": unit(r),
            "original": unit(o),
            "added": unit(embedder.encode(phrases)),
            "mean": np.broadcast_to(unit(mean_vector[None, :]), o.shape),
        }
        refs.update({f"vec:{name}": unit(v) for name, v in members.items()})
        return cls(refs, list(original), list(rewritten), added)

    def queries(self) -> list[np.ndarray]:
        """The vectors the pool is retrieved by: every reference except the original and the mean."""
        return [v for name, v in self.references.items() if name not in ("original", "mean")]

    def query_names(self) -> list[str]:
        return [name for name in self.references if name not in ("original", "mean")]


def names(ctx: RowContext) -> list[str]:
    refs = list(ctx.references)
    return [
        *(f"cos:{q}" for q in refs),
        *(f"rel:{q}" for q in refs),
        *(f"top:{q}" for q in refs),
        *(f"rank:{q}" for q in ctx.query_names()),
        "retrieved",
        "centre",
        *(f"origin:{o}" for o in ORIGINS),
        "hit_added",
        "hit_rewritten",
        "hit_original",
        "words",
        "row_cos_or",
        "row_len_ratio",
        "row_added",
    ]


def pair_features(pool: Pool, ctx: RowContext) -> np.ndarray:
    """[sum C_i, F] float32, rows in pool order (row 0's candidates first)."""
    blocks = []
    refs = list(ctx.references.values())
    for i in range(len(pool)):
        c = pool.vectors[i]  # [C, D]
        m = len(c)
        if not m:
            continue
        cos = np.stack([c @ ref[i] for ref in refs], axis=1)  # [C, R]
        top = cos.max(axis=0, keepdims=True)
        rel = cos - top
        ranks = pool.ranks[i]
        retrieved = (ranks > 0).sum(axis=1, keepdims=True)
        centre = c @ unit(c.mean(axis=0, keepdims=True))[0]
        added, rew, orig = (
            stems(ctx.added[i]),
            stems(content_words(ctx.rewritten[i])),
            stems(content_words(ctx.original[i])),
        )
        lexical = []
        for text in pool.texts[i]:
            words = content_words(text)
            lexical.append([hit_share(words, added), hit_share(words, rew), hit_share(words, orig), len(text.split())])
        o, r = ctx.references["original"][i], ctx.references["rewritten"][i]
        row = [float(o @ r), float(np.log((len(ctx.rewritten[i]) + 1) / (len(ctx.original[i]) + 1))), len(ctx.added[i])]
        blocks.append(
            np.hstack(
                [
                    cos,
                    rel,
                    np.repeat(top, m, axis=0),
                    ranks,
                    retrieved,
                    centre[:, None],
                    pool.origin[i],
                    np.asarray(lexical, np.float32),
                    np.tile(np.asarray(row, np.float32), (m, 1)),
                ]
            ).astype(np.float32)
        )
    width = len(names(ctx))
    return np.concatenate(blocks) if blocks else np.zeros((0, width), np.float32)
