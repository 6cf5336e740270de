"""``prompt-recovery calibrate``: weight a labelled pool so that leaderboard probes score as they did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import DEFAULT_CACHE, CacheOpt, EncoderOpt, TokenizationOpt, app, user_errors


@app.command()
def calibrate(
    probes: Annotated[Path, typer.Option(help="CSV of probe prompts and their leaderboard scores: prompt, score.")],
    pool: Annotated[Path, typer.Option(help="Labelled rows (id, rewrite_prompt, ...) to weight.")],
    out: Annotated[Path, typer.Option(help="Write id, weight (mean 1) here.")],
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    spread: Annotated[float, typer.Option(help="Regulariser: larger keeps weights nearer uniform.")] = 1e-3,
    cache_dir: CacheOpt = DEFAULT_CACHE,
) -> None:
    """Find non-negative row weights of POOL under which each probe prompt's mean SCS matches its score.

    Probe scores only mean something with the encoder they were measured with (leaderboard probes:
    sentence-t5)."""
    from prompt_recovery.calibrate import calibrate as run
    from prompt_recovery.data import check_output_path, read_probes, read_rows, write_table_atomic

    with user_errors():
        check_output_path(out, [probes, pool], "--out")
        probe_df = read_probes(probes)
        pool_df = read_rows(pool, require=("rewrite_prompt",))
        from prompt_recovery.embed import load_embedder

        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=cache_dir)
        result = run(
            embedder, list(probe_df["prompt"]), probe_df["score"].to_numpy(), list(pool_df["rewrite_prompt"]), spread
        )
        write_table_atomic(pool_df[["id"]].assign(weight=result.weights), out)
    typer.echo(f"{'probe':<52} {'target':>7} {'uniform':>8} {'weighted':>9}")
    for prompt, target, uniform, weighted in result.table.itertuples(index=False):
        typer.echo(f"{str(prompt)[:50]:<52} {target:>7.4f} {uniform:>8.4f} {weighted:>9.4f}")
    typer.echo(
        f"RMS fit error: uniform {result.fit_error('uniform'):.4f} -> weighted {result.fit_error('calibrated'):.4f}; "
        f"effective sample size {result.ess:.0f} of {len(result.weights)} rows"
    )
