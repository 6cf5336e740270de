"""Discrete token search over a tokenizer's vocabulary: mean prompts, inversion, attractor tokens.

from prompt_recovery.search import MeanSCS, SearchConfig, search
result = search(embedder, MeanSCS(embedder.encode(prompts)), SearchConfig(max_added_tokens=16))
"""

from prompt_recovery.search.attractors import Attractor, rank_attractors
from prompt_recovery.search.engine import SearchConfig, SearchResult, Step, search
from prompt_recovery.search.mean import MEAN_PROMPT, START_PROMPTS, mean_prompt
from prompt_recovery.search.objective import MeanSCS, TargetSCS
from prompt_recovery.search.proposals import PROPOSALS
from prompt_recovery.search.targets import read_targets
from prompt_recovery.search.vocab import VocabFilter, allowed_token_ids

__all__ = [
    "MEAN_PROMPT",
    "PROPOSALS",
    "START_PROMPTS",
    "Attractor",
    "MeanSCS",
    "SearchConfig",
    "SearchResult",
    "Step",
    "TargetSCS",
    "VocabFilter",
    "allowed_token_ids",
    "mean_prompt",
    "rank_attractors",
    "read_targets",
    "search",
]
