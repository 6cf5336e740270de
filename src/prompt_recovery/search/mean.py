"""The mean-prompt recipe, once: a start string from the most central target prompts, then token search.

Both the ``constant`` member (at fit time) and ``prompt-recovery mean-prompt`` run ``mean_prompt`` with
these defaults (``MEAN_PROMPT`` and ``START_PROMPTS``); each caller changes only what its user sets.

Example::

    objective = MeanSCS(embedder.encode(prompts))
    result = mean_prompt(embedder, objective, prompts)                       # the defaults
    result = mean_prompt(embedder, objective, prompts, replace(MEAN_PROMPT, time_budget=60.0))
    result.text, result.objective
"""

from __future__ import annotations

from prompt_recovery.embed import Embedder
from prompt_recovery.search.engine import SearchConfig, SearchResult, search
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.start import central_start

# 32 steps of append/replace/insert, 128 candidates per step scored exactly, stop after 4 steps without a
# gain: the pipeline's recipe (the CLI used 48/256/6 before; docs/decisions.md)
MEAN_PROMPT = SearchConfig(moves=("append", "replace", "insert"), top_k=128, max_added_tokens=32, patience=4)
START_PROMPTS = 8  # central target prompts joined as the start string


def mean_prompt(
    embedder: Embedder,
    objective: MeanSCS,
    prompts: list[str],
    config: SearchConfig = MEAN_PROMPT,
    start_prompts: int = START_PROMPTS,
    init: str | None = None,
) -> SearchResult:
    """The string with the highest mean |cos|^3 under ``objective`` that the token search finds, started
    from ``init`` or else from the ``start_prompts`` of ``prompts`` most central to the targets, joined."""
    start = init if init is not None else central_start(embedder, objective, prompts, start_prompts)
    return search(embedder, objective, config, init=start)
