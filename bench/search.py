"""Guided vs exhaustive token search, side by side in one run (issue 3's speed target).

Both proposals start from the same (empty) string, against the same 2,000 target prompts drawn from
../shared/data/external/prompt_banks, with the packaged MiniLM, append moves, ASCII-alphabetic tokens.
Prints the objective after each added token and the cumulative wall-clock of each, then the ratio at
the last step. Target: guided within 0.005 of exhaustive at 16 tokens, at least 20x faster.

The guided proposal reads single-token hidden states computed once per encoder (``search/space.py``,
kept in the embedder's cache folder: a fresh temporary one here, so they are computed); their one-off
cost is printed separately and the ratio is given both without and with it.

    .venv/bin/python bench/search.py [--tokens 16] [--targets 2000] [--top-k 512]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from common import sample_prompts

from prompt_recovery.embed import load_embedder
from prompt_recovery.search.engine import SearchConfig, search
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.space import token_space
from prompt_recovery.search.vocab import VocabFilter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--top-k", type=int, default=512)
    args = parser.parse_args()

    vocab = VocabFilter(ascii_alpha_only=True)
    with tempfile.TemporaryDirectory() as cache:
        embedder = load_embedder("minilm", cache_dir=cache)
        objective = MeanSCS(embedder.encode(sample_prompts(args.targets)))
        t0 = time.perf_counter()
        token_space(embedder, vocab).ranker  # noqa: B018 - the single-token states, once per encoder
        t_states = time.perf_counter() - t0
        runs = {}
        for name in ("guided", "exhaustive"):
            cfg = SearchConfig(proposal=name, max_added_tokens=args.tokens, top_k=args.top_k, vocab=vocab, patience=99)
            runs[name] = search(embedder, objective, cfg)

    g, x = runs["guided"], runs["exhaustive"]
    print(f"{args.targets} targets, MiniLM, append moves, top-k {args.top_k}; single-token states: {t_states:.1f}s")
    print("| tokens | guided objective | guided s | exhaustive objective | exhaustive s |")
    print("|---|---|---|---|---|")
    for a, b in zip(g.history[1:], x.history[1:], strict=False):
        print(f"| {a.added_tokens} | {a.objective:.4f} | {a.seconds:.1f} | {b.objective:.4f} | {b.seconds:.1f} |")
    tg, tx = g.history[-1].seconds, x.history[-1].seconds
    print(f"guided:     {g.objective:.4f}  {g.text!r}  ({g.evaluated} strings scored)")
    print(f"exhaustive: {x.objective:.4f}  {x.text!r}  ({x.evaluated} strings scored)")
    print(
        f"gap at {args.tokens} tokens (exhaustive - guided): {x.history[-1].objective - g.history[-1].objective:+.4f}"
    )
    print(f"speed-up: {tx / tg:.1f}x without the cached states, {tx / (tg + t_states):.1f}x with them")


if __name__ == "__main__":
    main()
