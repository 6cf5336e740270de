"""``prompt-recovery train``, ``predict`` and ``evaluate``: the recovery pipeline end to end."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prompt_recovery.commands import (
    DEFAULT_CACHE,
    CacheOpt,
    JsonOpt,
    NoCacheOpt,
    TokenizationOpt,
    app,
    cache_of,
    renamed,
    show_progress,
    user_errors,
)
from prompt_recovery.commands._engine import AddressOpt, EngineOpt, WorkersOpt
from prompt_recovery.engines import Engine
from prompt_recovery.errors import DataError

if TYPE_CHECKING:
    from prompt_recovery.pipeline import PipelineConfig

ModelOpt = Annotated[Path, typer.Option("--model", metavar="FOLDER", help="Model folder written by `train`.")]
BankOpt = Annotated[
    str | None,
    typer.Option(
        "--bank",
        metavar="BANK",
        help="Extra prompts for retrieval and inversion: 'osyuksel' (packaged, 9,205 prompts) or a .txt (one a "
        "line), .json (list of strings), .csv/.jsonl/.parquet (column rewrite_prompt or prompt) file.",
    ),
]


class Style(StrEnum):
    """``predict --style``: what the submission's rewrite_prompt holds."""

    metric = "metric"
    readable = "readable"


def load_config(path: Path) -> PipelineConfig:
    """``PipelineConfig.from_toml``: a missing file, TOML syntax (file, line and column), an unknown
    setting (the known ones listed) or a value of the wrong type is a ``ConfigError`` naming the file."""
    from prompt_recovery.pipeline import PipelineConfig

    return PipelineConfig.from_toml(path)


def check_model_out(out: Path) -> None:
    """Refuse, before training, a ``train --out`` that cannot become a model folder."""
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: is a file; a model is a folder. Fix: choose a new folder name.")
    if out.is_dir() and any(out.iterdir()) and not (out / "pipeline.json").exists():
        raise DataError(
            f"--out {out}: the folder holds other files and no model (no pipeline.json). "
            "Fix: choose a new or empty folder."
        )
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"--out {out}: {parent} is a file, not a folder. Fix: choose another path.")
            break


@app.command()
def train(
    labelled: Annotated[
        list[Path],
        typer.Argument(help="Files of rows with original_text, rewritten_text, rewrite_prompt (id optional)."),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", metavar="FOLDER", help="Model folder to write.")],
    config: Annotated[
        Path | None, typer.Option(help="Pipeline TOML: members, encoder, suffix (see data/demo/pipeline.toml).")
    ] = None,
    encoder: Annotated[str | None, typer.Option(metavar="ENCODER", help="Use this encoder, not the config's.")] = None,
    split_file: Annotated[
        list[Path] | None,
        typer.Option(help="CSV of id, split (e.g. data/corpus/splits.csv); repeat it for several files."),
    ] = None,
    split: Annotated[str, typer.Option(help="The split of --split-file to train on.")] = "train",
    sample: Annotated[
        int | None,
        typer.Option(min=10, help="Train on a seeded random sample of this many rows (quick runs, the demo)."),
    ] = None,
    bank: BankOpt = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
) -> None:
    """Fit the predictors, choose the ensemble on a validation split, and save the model folder.

    The training prompts always join the prompt bank; --bank adds more (saved in the model). When the
    validation split would have fewer than 5 rows, validation is skipped, every member joins the ensemble,
    and a warning says so.

    Examples:

        prompt-recovery train data/corpus/corpus.csv --split-file data/corpus/splits.csv --out model
        prompt-recovery train data/demo/train.csv --config data/demo/pipeline.toml --sample 40 --out demo-model
    """
    from prompt_recovery.banks import read_bank
    from prompt_recovery.data import read_labelled_files
    from prompt_recovery.guard import check_output_folder
    from prompt_recovery.pipeline import PipelineConfig
    from prompt_recovery.pipeline import train as run
    from prompt_recovery.pipeline.store import MANIFEST

    with user_errors():
        check_model_out(out)
        inputs = [*labelled, config, *(split_file or ())]
        check_output_folder(out, ["pipeline.json", MANIFEST], "--out", inputs=inputs)
        cfg = load_config(config) if config else PipelineConfig()
        rows = read_labelled_files(labelled, split_file or (), split)
        if encoder:
            cfg = cfg.with_encoder(encoder)
        if bank is not None:
            cfg = cfg.with_settings(bank=bank)
            read_bank(bank)  # a bad bank fails now, before the rows are encoded
        if sample is not None and sample < len(rows):
            rows = rows.sample(n=sample, random_state=cfg.settings.seed).sort_index().reset_index(drop=True)
        start = time.perf_counter()
        cache = cache_of(cache_dir, no_cache)
        pipeline = run(rows, cfg, cache_dir=None if cache is None else str(cache), show_progress=show_progress())
        pipeline.save(out)
    typer.echo(f"trained on {len(rows)} rows in {time.perf_counter() - start:.0f}s -> {out}")
    for name, value in pipeline.validation.items():
        typer.echo(f"  validation {name:<12} {value:.4f}")
    typer.echo(f"  ensemble order: {' + '.join(pipeline.order)}")
    if pipeline.timings:
        typer.echo("  time: " + ", ".join(f"{stage} {seconds:.0f}s" for stage, seconds in pipeline.timings.items()))


@app.command()
def predict(
    data: Annotated[Path, typer.Argument(help="Rows with id, original_text, rewritten_text.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o", "--out", help="Submission to write: id, rewrite_prompt, readable_prompt (.csv/.jsonl/.parquet)."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", hidden=True, help="Old name of -o/--out.")] = None,
    style: Annotated[
        Style,
        typer.Option(
            help="What rewrite_prompt holds: 'metric' (the string chosen for the score) or 'readable' (the plain "
            "instruction, also in readable_prompt either way).",
        ),
    ] = Style.metric,
    model: Annotated[
        Path | None, typer.Option("--model", metavar="FOLDER", help="Model folder written by `train`.")
    ] = None,
    bank: Annotated[
        str | None,
        typer.Option(
            "--bank",
            metavar="BANK",
            help="Prompt bank ('osyuksel' or a .txt/.json/.csv/.jsonl/.parquet file): training-free retrieval over "
            "it without --model, extra prompts for the model's bank with --model.",
        ),
    ] = None,
    encoder: Annotated[
        str | None,
        typer.Option(metavar="ENCODER", help="The encoder of a training-free run (--bank without --model; minilm)."),
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Rows per resumable chunk.")] = 256,
    time_budget: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            metavar="SECONDS",
            help="Time for the whole command, setup included; rows left when it runs out get the mean prompt, "
            "and a rerun of the same line predicts them.",
        ),
    ] = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Predict a prompt for every row, with a trained --model, a training-free --bank, or both.

    Resumable: a rerun of the same line continues from OUTPUT.partial.jsonl.

    Examples:

        prompt-recovery predict data/demo/test.csv --model model -o submission.csv
        prompt-recovery predict rows.csv --bank osyuksel -o submission.csv --time-budget 600
        prompt-recovery predict rows.csv --model model -o submission.csv --engine ray --address auto
    """
    started = time.monotonic()
    output = renamed(out, output, "--output", "-o/--out")
    if output is None:
        typer.echo("error: give the submission to write with -o/--out FILE.", err=True)
        raise typer.Exit(2)
    from prompt_recovery.prediction import predict_file

    with user_errors():
        if model is None and bank is None:
            raise DataError(
                "predict needs --model FOLDER (from `train`) or --bank BANK (training-free, e.g. --bank osyuksel)."
            )
        if model is not None and encoder is not None:
            raise DataError(
                f"--encoder {encoder}: a trained model keeps the encoder it was trained with. "
                "Fix: drop --encoder (it is for --bank without --model)."
            )
        if engine is Engine.ray:
            from prompt_recovery.engines.ray import predict_ray

            if time_budget is not None:
                raise DataError("--time-budget: --engine local only. Fix: drop it (a Ray run resumes by block).")
            on_ray = predict_ray(data, output, model=model, bank=bank, encoder=encoder, style=style.value,
                                 block_rows=chunk, cache_dir=cache_of(cache_dir, no_cache), address=address,
                                 workers=workers, show_progress=show_progress())  # fmt: skip
            typer.echo(
                f"wrote {on_ray.rows} predictions to {output} ({on_ray.blocks} blocks, {on_ray.resumed} resumed)"
            )
            return
        result = predict_file(
            data,
            output,
            model=model,
            bank=bank,
            encoder=encoder,
            style=style.value,
            chunk=chunk,
            time_budget=time_budget,
            cache_dir=cache_of(cache_dir, no_cache),
            show_progress=show_progress(),
            started=started,
        )
    typer.echo(f"wrote {result.rows} predictions to {output}")
    if result.left:
        typer.echo(
            f"time budget: {result.left} of {result.rows} rows fell back to the mean prompt (budget {time_budget:g}s, "
            f"{result.seconds:.1f}s used). Rerun the same command to predict them: the "
            f"{result.kept} predicted rows are kept in {result.partial}."
        )


@app.command()
def evaluate(
    labelled: Annotated[
        Path, typer.Argument(help="Labelled rows (id, original_text, rewritten_text, rewrite_prompt).")
    ],
    model: ModelOpt,
    encoder: Annotated[
        str | None,
        typer.Option(
            metavar="ENCODER",
            help="Score with this encoder instead of the model's own; the model still predicts with the encoder "
            "it was trained with (as the competition scored every model with sentence-t5).",
        ),
    ] = None,
    tokenization: TokenizationOpt = "auto",
    per_row: Annotated[
        Path | None, typer.Option(help="Write every row's predictions and scores per predictor to this CSV.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML report (run details, per-family tables, plots, rows) here.")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Weight the rows by this file (id, weight), e.g. from calibrate.")
    ] = None,
    split_file: Annotated[
        Path | None, typer.Option(help="Score only the rows of --split listed in this CSV of id, split.")
    ] = None,
    split: Annotated[str, typer.Option(help="The split of --split-file to score.")] = "validation",
    as_json: JsonOpt = False,
    cache_dir: CacheOpt = DEFAULT_CACHE,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Score every member and the ensemble of a model on labelled rows: mean SCS and bootstrap 95% CI.

    The ensemble row is what `predict` writes; each member row is that member alone, with the ensemble's
    fallbacks for rows it leaves blank.

    Examples:

        prompt-recovery evaluate data/demo/test.csv --model model --report report.html
        prompt-recovery evaluate rows.csv --model model --encoder sentence-t5 --json
    """
    from prompt_recovery.evaluation import evaluate_file

    on_ray = {"address": address, "workers": workers} if engine is Engine.ray else {}
    with user_errors():
        if on_ray:
            from prompt_recovery.engines.ray import evaluate_file_ray as evaluate_file
        result = evaluate_file(
            labelled,
            model,
            encoder=encoder,
            tokenization=tokenization,
            per_row=per_row,
            report=report,
            weights=weights,
            split_file=split_file,
            split=split,
            cache_dir=cache_of(cache_dir, no_cache),
            show_progress=show_progress(),
            **on_ray,
        )
    if report is not None:
        typer.echo(f"wrote the report to {report}", err=as_json)
    if per_row is not None:
        typer.echo(f"wrote the per-row scores to {per_row}", err=as_json)
    if as_json:
        doc = {"encoder": result.scored_with, "model_encoder": result.model_encoder, "predictors": result.results}
        typer.echo(json.dumps({**doc, "weighted": weights is not None}))
    else:
        n = len(result.table)
        typer.echo(f"{'predictor':<14} {'mean SCS':>9} {'95% CI':>19}   n={n}  encoder={result.scored_with}")
        for name, r in result.results.items():
            typer.echo(f"{name:<14} {r['mean']:>9.4f}   [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
    for line in result.notes:
        typer.echo(f"note: {line}", err=True)
