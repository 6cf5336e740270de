"""Starting strings for a search.

``central_start`` joins the target prompts that score best against all targets ("central" prompts).
Under mean pooling a concatenation's embedding sits near the average of its parts, so a few central
prompts joined already land near the targets' centre, and the token search refines from there rather
than building a string from nothing.
"""

from __future__ import annotations

import numpy as np

from prompt_recovery.embed import Embedder
from prompt_recovery.search.objective import MeanSCS


def central_start(embedder: Embedder, objective: MeanSCS, prompts: list[str], n: int = 8) -> str:
    """Greedily join up to ``n`` of ``prompts`` (most central first), keeping each one only if the joined
    string's objective rises. Returns the joined string ("" if ``n`` is 0)."""
    if n <= 0:
        return ""
    scores = objective.score(embedder.encode(prompts))
    order = np.argsort(-scores)[: max(4 * n, n)]
    chosen: list[str] = []
    best = -np.inf
    for i in order:
        trial = " ".join([*chosen, prompts[int(i)]])
        if len(embedder.tokenizer.encode_plain(trial)) > embedder.tokenizer.max_length - 8:
            break
        value = float(objective.score(embedder.encode([trial], use_cache=False))[0])
        if value > best:
            chosen, best = [*chosen, prompts[int(i)]], value
        if len(chosen) >= n:
            break
    return " ".join(chosen)
