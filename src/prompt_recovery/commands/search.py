"""``prompt-recovery mean-prompt`` and ``prompt-recovery attractors``: token search from the command line."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import (
    DEFAULT_CACHE,
    CacheOpt,
    EncoderOpt,
    NoCacheOpt,
    TokenizationOpt,
    app,
    cache_of,
    show_progress,
    user_errors,
)

TargetsOpt = Annotated[
    Path, typer.Option("--targets", help="Target prompts: .txt (one per line), .json list, or a table column.")
]
ColumnOpt = Annotated[str, typer.Option(help="Column holding the prompts when --targets is a table.")]
AsciiOpt = Annotated[bool, typer.Option("--ascii-only", help="Only ASCII alphabetic tokens.")]
VocabLimitOpt = Annotated[int | None, typer.Option(help="Only the first N allowed token ids.")]
ProfanityOpt = Annotated[
    bool, typer.Option("--allow-profanity", help="Also use tokens on better-profanity's word list (off: never).")
]


@app.command("mean-prompt")
def mean_prompt_command(
    targets: TargetsOpt,
    column: ColumnOpt = "rewrite_prompt",
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    init: Annotated[str, typer.Option(help="Start string, or preset:NAME (the sentence-t5 presets).")] = "",
    start_prompts: Annotated[
        int | None,
        typer.Option(
            help="Without --init: start from this many central target prompts joined (0: empty) [default: 8, "
            "search.START_PROMPTS]."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Search steps (tokens added by append/insert) [default: 32, search.MEAN_PROMPT].")
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="Stop after this time, set-up included.")
    ] = None,
    proposal: Annotated[
        str, typer.Option(metavar="NAME", help="Candidate proposal: guided, exhaustive, gradient or pooled.")
    ] = "guided",
    moves: Annotated[
        str, typer.Option(metavar="MOVES", help="Comma-separated moves: append, insert, replace.")
    ] = "append,replace,insert",
    beam: Annotated[int, typer.Option(help="Beam width (1 = greedy).")] = 1,
    top_k: Annotated[
        int | None,
        typer.Option(
            help="Candidates per step sent to exact scoring (guided proposals) [default: 128, search.MEAN_PROMPT]."
        ),
    ] = None,
    patience: Annotated[
        int | None, typer.Option(help="Stop after this many steps without a new best [default: 4, search.MEAN_PROMPT].")
    ] = None,
    ascii_only: AsciiOpt = False,
    vocab_limit: VocabLimitOpt = None,
    allow_profanity: ProfanityOpt = False,
    weights: Annotated[
        Path | None, typer.Option(help="Target weights (id, weight) from calibrate; --targets must have an id column.")
    ] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="Save progress here; rerun to resume.")] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write the result (text, objective, history) as JSON.")
    ] = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Find one string that scores best on average against the target prompts (a mean prompt).

    Examples:

        prompt-recovery mean-prompt --targets data/corpus/corpus.csv --time-budget 300 --checkpoint mp.json
        prompt-recovery mean-prompt --targets prompts.txt --encoder sentence-t5 --init preset:kaggle-4th-mean-prompt
    """
    from prompt_recovery import presets
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.search import MEAN_PROMPT, START_PROMPTS, MeanSCS, VocabFilter, mean_prompt, read_targets

    began = time.monotonic()  # the budget counts set-up (encoding the targets, the start string) too
    if time_budget is not None and time_budget <= 0:
        raise typer.BadParameter("--time-budget must be > 0 seconds")
    with user_errors():
        texts, target_weights = read_targets(targets, column), None
        if weights is not None:
            from prompt_recovery.data import read_rows, read_weights

            table = read_rows(targets, require=("id", column))
            texts, target_weights = list(table[column]), read_weights(weights, list(table["id"]))
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=cache_of(cache_dir, no_cache))
        objective = MeanSCS(embedder.encode(texts, show_progress=show_progress()), target_weights)
        try:
            config = replace(
                MEAN_PROMPT,
                proposal=proposal,
                moves=tuple(m.strip() for m in moves.split(",")),
                beam_width=beam,
                top_k=MEAN_PROMPT.top_k if top_k is None else top_k,
                max_added_tokens=MEAN_PROMPT.max_added_tokens if max_tokens is None else max_tokens,
                time_budget=time_budget,
                patience=MEAN_PROMPT.patience if patience is None else patience,
                vocab=VocabFilter(ascii_alpha_only=ascii_only, limit=vocab_limit, allow_profanity=allow_profanity),
                checkpoint=None if checkpoint is None else str(checkpoint),
                show_progress=show_progress(),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        start = presets.resolve(init) if init else None
        if time_budget is not None:
            config = replace(config, time_budget=max(0.0, time_budget - (time.monotonic() - began)))
        starts = START_PROMPTS if start_prompts is None else start_prompts
        result = mean_prompt(embedder, objective, texts, config, starts, init=start)
        if out is not None:
            from prompt_recovery.fileio import write_text_atomic

            doc = {
                **result.to_dict(),
                "encoder": encoder,
                "tokenization": embedder.tokenizer.mode,
                "n_targets": len(texts),
            }
            write_text_atomic(out, json.dumps(doc, indent=2))
    typer.echo(f"objective {result.objective:.4f} ({len(result.tokens)} tokens, stopped: {result.stopped})")
    if result.stopped == "time_budget":
        hint = "rerun the same line to continue" if checkpoint else "add --checkpoint FILE to be able to continue"
        typer.echo(f"stopped by --time-budget after {time.monotonic() - began:.0f}s; {hint}", err=True)
    typer.echo(result.text)


@app.command()
def attractors(
    targets: TargetsOpt,
    column: ColumnOpt = "rewrite_prompt",
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    repeats: Annotated[int, typer.Option(help="How many times each token is appended.")] = 3,
    top: Annotated[int, typer.Option(help="How many tokens to list.")] = 20,
    ascii_only: AsciiOpt = False,
    vocab_limit: VocabLimitOpt = None,
    allow_profanity: ProfanityOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Rank tokens by how much appending them (repeated) raises mean SCS: the 'lucrarea' effect.

    Example:

        prompt-recovery attractors --targets data/corpus/corpus.csv --encoder sentence-t5 --top 20
    """
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.search import MeanSCS, VocabFilter, rank_attractors, read_targets

    with user_errors():
        texts = read_targets(targets, column)
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=cache_of(cache_dir, no_cache))
        objective = MeanSCS(embedder.encode(texts, show_progress=show_progress()))
        ranked = rank_attractors(
            embedder,
            objective,
            repeats=repeats,
            vocab=VocabFilter(ascii_alpha_only=ascii_only, limit=vocab_limit, allow_profanity=allow_profanity),
            top=top,
            show_progress=show_progress(),
        )
    if as_json:
        typer.echo(json.dumps([{"token_id": a.token_id, "piece": a.piece, "gain": a.gain} for a in ranked]))
        return
    typer.echo(f"{'rank':>4}  {'token':<20} {'id':>6}  gain (mean SCS, x{repeats})")
    for i, a in enumerate(ranked, 1):
        typer.echo(f"{i:>4}  {a.piece!r:<20} {a.token_id:>6}  {a.gain:+.4f}")
