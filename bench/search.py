"""Guided vs exhaustive token search, side by side in one run (issue 3's speed target).

Both proposals start from the same (empty) string, against the same 2,000 target prompts drawn from
../shared/data/external/prompt_banks (the packaged osyuksel bank at smoke size), with the packaged
MiniLM, append moves, ASCII-alphabetic tokens (at smoke size the first 1,500 of them). Prints the
objective after each added token and the cumulative wall-clock of each, then the ratio at the last
step. Target: guided within 0.005 of exhaustive at 16 tokens, at least 20x faster.

The guided proposal reads single-token hidden states computed once per encoder (``search/space.py``,
kept in the embedder's cache folder: a fresh temporary one here, so they are computed); their one-off
cost is printed separately and the ratio is given both without and with it.

    .venv/bin/python bench/search.py [--tokens 16] [--targets 2000] [--top-k 512] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from harness import CACHE, start

from data import sample_prompts
from prompt_recovery.embed import load_embedder
from prompt_recovery.search.engine import SearchConfig, search
from prompt_recovery.search.objective import MeanSCS
from prompt_recovery.search.space import token_space
from prompt_recovery.search.vocab import VocabFilter


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--top-k", type=int, default=512)
    parser.add_argument("--vocab-limit", type=int, default=None, help="only the first N allowed tokens (smoke runs)")


def main() -> None:
    run = start("search", __doc__, options, smoke={"tokens": 2, "targets": 100, "top_k": 64, "vocab_limit": 1500})
    args = run.args
    vocab = VocabFilter(ascii_alpha_only=True, limit=args.vocab_limit)
    # full size: a fresh cache, so the one-off single-token states are measured; smoke: the shared cache
    with tempfile.TemporaryDirectory() as tmp:
        embedder = load_embedder("minilm", cache_dir=CACHE if run.smoke else tmp)
        objective = MeanSCS(embedder.encode(sample_prompts(args.targets, run)))
        t0 = time.perf_counter()
        token_space(embedder, vocab).ranker  # noqa: B018 - the single-token states, once per encoder
        t_states = time.perf_counter() - t0
        runs = {}
        for name in ("guided", "exhaustive"):
            cfg = SearchConfig(proposal=name, max_added_tokens=args.tokens, top_k=args.top_k, vocab=vocab, patience=99)
            runs[name] = search(embedder, objective, cfg)

    g, x = runs["guided"], runs["exhaustive"]
    rows = [
        [a.added_tokens, round(a.objective, 4), round(a.seconds, 1), round(b.objective, 4), round(b.seconds, 1)]
        for a, b in zip(g.history[1:], x.history[1:], strict=False)
    ]
    title = f"{args.targets} targets, MiniLM, append moves, top-k {args.top_k}; single-token states {t_states:.1f}s"
    run.table(title, ["tokens", "guided objective", "guided s", "exhaustive objective", "exhaustive s"], rows)
    tg, tx = g.history[-1].seconds, x.history[-1].seconds
    run.numbers = {
        "guided_objective": round(g.objective, 4),
        "exhaustive_objective": round(x.objective, 4),
        "gap_exhaustive_minus_guided": round(x.history[-1].objective - g.history[-1].objective, 4),
        "speedup": round(tx / tg, 1),
        "speedup_with_states": round(tx / (tg + t_states), 1),
        "states_s": round(t_states, 1),
        "guided_scored": g.evaluated,
        "exhaustive_scored": x.evaluated,
        "guided_text": g.text,
        "targets": "guided within 0.005 of exhaustive at 16 tokens, >= 20x faster",
    }
    run.save()


if __name__ == "__main__":
    main()
