"""Quality of a searched mean prompt on held-out prompts (issue 3, item 7), with the packaged MiniLM.

Pool: the 3rd-place team's leaderboard-matched prompt set (pedromb prompts_selected_new_07.json,
5,104 prompts) from ../shared, or with ``--pool osyuksel`` the packaged osyuksel bank (9,205 prompts).
A seeded split holds out 1,000 prompts; the mean prompt is searched on
(a sample of) the rest. On the held-out prompts we report:

- the best of a list of hand-written constant prompts (chosen on the held-out set itself: generous);
- the best single unit vector fitted on the held-out targets (an upper bound for any constant);
- our mean prompt, searched on train only.

Targets: ours >= 85% of the bound and >= 2.5x the best hand-written constant.

``--with-profanity`` also searches with the word blocklist lifted (``VocabFilter(allow_profanity=True)``)
from the same start, and prints both mean prompts' held-out scores side by side with the listed words
each contains: what the blocklist costs.

    .venv/bin/python bench/mean_prompt_quality.py [--train 2000] [--tokens 48] [--time-budget 900] [--with-profanity]
    .venv/bin/python bench/mean_prompt_quality.py --smoke   (the packaged osyuksel pool, tiny sizes)
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace

import numpy as np
from harness import CACHE, shared, start

from prompt_recovery.banks import read_bank
from prompt_recovery.embed import load_embedder
from prompt_recovery.search import MeanSCS, SearchConfig, VocabFilter, search
from prompt_recovery.search.start import central_start
from prompt_recovery.search.vocab import is_profane

HAND_WRITTEN = [
    "Rewrite the text.",
    "Rewrite the following text.",
    "Improve this text.",
    "Rewrite this text in a different style.",
    "Rewrite the text to make it more engaging.",
    "Please rewrite the following text in a different tone and style.",
    "Transform the text into a different format while keeping its meaning.",
    "Improve the following text using the writing style of, maintaining the original meaning but altering the "
    "tone, diction, and stylistic elements to match the new style.",
    "Rewrite the text to reflect existing themes, provide a concise and engaging narration, and improvise "
    "passages to enhance its prose.",
    "Please improve this text by making it more formal, concise and engaging.",
    "Rewrite this essay as a story with a new tone.",
]


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=int, default=2000, help="train prompts used by the search")
    parser.add_argument("--heldout", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=48, help="search steps")
    parser.add_argument("--top-k", type=int, default=256)
    parser.add_argument("--moves", default="append,replace,insert")
    parser.add_argument("--start-prompts", type=int, default=8, help="central train prompts joined as the start")
    parser.add_argument("--time-budget", type=float, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pool", choices=["pedromb", "osyuksel"], default="pedromb", help="pedromb (../shared) or the packaged bank"
    )
    parser.add_argument("--with-profanity", action="store_true", help="also search with the word blocklist lifted")


def main() -> None:
    smoke = {"pool": "osyuksel", "train": 200, "heldout": 100, "tokens": 2, "top_k": 32, "start_prompts": 4}
    run = start("mean_prompt_quality", __doc__, options, smoke=smoke)
    args = run.args
    run.variant = "" if args.pool == "pedromb" else args.pool

    if args.pool == "pedromb":
        path = shared("data/external/prompt_banks/pedromb/prompts_selected_new_07.json", run)
        assert path is not None  # a smoke run reads the packaged pool
        texts = json.loads(path.read_text())
    else:
        texts = read_bank(args.pool)  # packaged: runs without ../shared
    pool = sorted({p.strip() for p in texts})
    random.Random(args.seed).shuffle(pool)
    heldout, train = pool[: args.heldout], pool[args.heldout :][: args.train]

    embedder = load_embedder("minilm", cache_dir=CACHE)  # also keeps the single-token states
    train_obj = MeanSCS(embedder.encode(train))
    held_obj = MeanSCS(embedder.encode(heldout))
    hand = held_obj.score(embedder.encode(HAND_WRITTEN))
    best_hand = int(np.argmax(hand))
    _, bound = held_obj.best_unit_vector()

    t0 = time.perf_counter()
    init = central_start(embedder, train_obj, train, args.start_prompts)
    cfg = SearchConfig(
        proposal="guided",
        moves=tuple(args.moves.split(",")),
        top_k=args.top_k,
        max_added_tokens=args.tokens,
        time_budget=args.time_budget,
        patience=6,
    )
    result = search(embedder, train_obj, cfg, init=init)
    seconds = time.perf_counter() - t0
    ours = float(held_obj.score(embedder.encode([result.text]))[0])
    start_score = float(held_obj.score(embedder.encode([init]))[0])

    run.note(f"pool {args.pool}, {len(pool)} prompts: train {len(train)}, held-out {len(heldout)}; MiniLM")
    rows: list[list] = [
        [f"hand-written: {text[:70]!r}", round(float(v), 4)]
        for text, v in sorted(zip(HAND_WRITTEN, hand, strict=True), key=lambda x: x[1])
    ]
    rows += [
        [f"start: {args.start_prompts} central train prompts joined", round(start_score, 4)],
        [f"searched mean prompt (train objective {result.objective:.4f}, {seconds:.0f}s)", round(ours, 4)],
        ["best unit vector fitted on held-out (upper bound)", round(float(bound), 4)],
    ]
    run.table("on held-out prompts", ["string", "mean SCS"], rows)
    run.seconds["search"] = round(seconds, 1)
    run.numbers = {
        "heldout_scs": round(ours, 4),
        "bound": round(float(bound), 4),
        "best_hand_written": round(float(hand[best_hand]), 4),
        "ours_over_bound": round(ours / float(bound), 3),  # target >= 0.85
        "ours_over_best_hand": round(ours / float(hand[best_hand]), 2),  # target >= 2.5
        "ours_over_median_hand": round(ours / float(np.median(hand)), 2),
        "mean_prompt": result.text,
        "tokens": len(result.tokens),
        "stopped": result.stopped,
    }
    if args.with_profanity:
        t0 = time.perf_counter()
        lifted = search(embedder, train_obj, replace(cfg, vocab=VocabFilter(allow_profanity=True)), init=init)
        lifted_seconds = time.perf_counter() - t0
        theirs = float(held_obj.score(embedder.encode([lifted.text]))[0])
        rows = []
        for head, res, score, secs in (
            ("on (default)", result, ours, seconds),
            ("lifted", lifted, theirs, lifted_seconds),
        ):
            words = sorted({t for t in res.tokens if is_profane(t)})  # the pieces the blocklist judges
            rows.append([head, round(score, 4), round(res.objective, 4), round(secs), ", ".join(words) or "-"])
        columns = ["word blocklist", "held-out mean SCS", "train objective", "seconds", "listed pieces"]
        run.table("the word blocklist", columns, rows)
        run.numbers["blocklist_on_over_lifted"] = round(ours / theirs, 3)
    run.save()


if __name__ == "__main__":
    main()
