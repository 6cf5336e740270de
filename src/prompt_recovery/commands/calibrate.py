"""``prompt-recovery calibrate``: weight a labelled pool so that leaderboard probes score as they did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import (
    DEFAULT_CACHE,
    CacheOpt,
    EncoderOpt,
    JsonOpt,
    NoCacheOpt,
    TokenizationOpt,
    app,
    cache_of,
    user_errors,
)


@app.command()
def calibrate(
    probes: Annotated[Path, typer.Option(help="CSV of probe prompts and their leaderboard scores: prompt, score.")],
    pool: Annotated[Path, typer.Option(help="Labelled rows (id, rewrite_prompt, ...) to weight.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Write the weights here: id, weight (mean 1).")],
    encoder: EncoderOpt = "minilm",
    tokenization: TokenizationOpt = "auto",
    spread: Annotated[
        float, typer.Option(metavar="NUMBER", help="Regulariser: larger keeps the weights nearer uniform.")
    ] = 1e-3,
    force: Annotated[
        bool, typer.Option("--force", help="Write the weights even when the probes do not fit the encoder.")
    ] = False,
    as_json: JsonOpt = False,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Weight the rows of --pool so that each probe prompt's mean SCS on them matches its leaderboard score.

    Probe scores only mean something under the encoder they were measured with: the shipped
    data/examples/leaderboard_probes.csv needs --encoder sentence-t5. When no weighting can reach the
    probes' scores (another encoder's probes), nothing is written unless --force; a tiny effective sample
    size is a warning.

    Example:

        prompt-recovery calibrate --probes probes.csv --pool rows.csv --out w.csv --encoder sentence-t5
    """
    from prompt_recovery.calibrate import calibrate as run
    from prompt_recovery.data import read_probes, read_rows
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.fileio import check_output_path, write_table_atomic

    with user_errors():
        check_output_path(out, [probes, pool], "--out")
        probe_df = read_probes(probes)
        pool_df = read_rows(pool, require=("rewrite_prompt",))
        embedder = load_embedder(encoder, tokenization=tokenization, cache_dir=cache_of(cache_dir, no_cache))
        result = run(
            embedder, list(probe_df["prompt"]), probe_df["score"].to_numpy(), list(pool_df["rewrite_prompt"]), spread
        )
        warnings = result.warnings(encoder)
        refused = len(result.unreachable) > 0 and not force
        if not refused:
            write_table_atomic(pool_df[["id"]].assign(weight=result.weights), out)
    if as_json:
        table = result.table[["prompt", "target", "uniform", "calibrated"]]
        doc = {
            "probes": table.to_dict(orient="records"),
            "fit_error": {"uniform": result.fit_error("uniform"), "weighted": result.fit_error("calibrated")},
            "ess": result.ess,
            "rows": len(result.weights),
            "encoder": encoder,
            "written": not refused,
            "warnings": warnings,
        }
        typer.echo(json.dumps(doc))
    else:
        typer.echo(f"{'probe':<52} {'target':>7} {'uniform':>8} {'weighted':>9}")
        for prompt, target, uniform, weighted in result.table[["prompt", "target", "uniform", "calibrated"]].itertuples(
            index=False
        ):
            typer.echo(f"{str(prompt)[:50]:<52} {target:>7.4f} {uniform:>8.4f} {weighted:>9.4f}")
        fit = f"uniform {result.fit_error('uniform'):.4f} -> weighted {result.fit_error('calibrated'):.4f}"
        typer.echo(f"RMS fit error: {fit}; effective sample size {result.ess:.0f} of {len(result.weights)} rows")
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)
    if refused:
        typer.echo(f"error: {out} not written: the probes do not fit {encoder} (--force writes it anyway)", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo(f"wrote {len(result.weights)} weights to {out}")
