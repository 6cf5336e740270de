"""``prompt-recovery train``, ``predict`` and ``evaluate``: the recovery pipeline end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from tqdm.auto import tqdm

from prompt_recovery.commands import DEFAULT_CACHE, CacheOpt, app, show_progress, user_errors

ModelOpt = Annotated[Path, typer.Option("--model", help="Model folder written by `train`.")]


@app.command()
def train(
    labelled: Annotated[
        list[Path],
        typer.Argument(help="Files of rows with original_text, rewritten_text, rewrite_prompt (id optional)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    config: Annotated[Path | None, typer.Option(help="Pipeline TOML (members, encoder, suffix).")] = None,
    encoder: Annotated[str | None, typer.Option(help="Override the config's encoder.")] = None,
    split_file: Annotated[
        list[Path] | None,
        typer.Option(help="CSV of id, split (e.g. data/corpus/splits.csv); repeat it for several files."),
    ] = None,
    split: Annotated[str, typer.Option(help="With --split-file: train on the rows of this split only.")] = "train",
    sample: Annotated[
        int | None,
        typer.Option(min=10, help="Train on a seeded random sample of this many rows (quick runs, the demo)."),
    ] = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
) -> None:
    """Fit the predictors, choose the ensemble on a validation split, and save the model folder."""
    from prompt_recovery.data import read_labelled_files
    from prompt_recovery.pipeline import PipelineConfig
    from prompt_recovery.pipeline import train as run

    with user_errors():
        rows = read_labelled_files(labelled, split_file or (), split)
        cfg = PipelineConfig.from_toml(config) if config else PipelineConfig()
        if encoder:
            cfg.encoder = encoder
        if sample is not None and sample < len(rows):
            rows = rows.sample(n=sample, random_state=cfg.seed).sort_index().reset_index(drop=True)
        start = time.perf_counter()
        pipeline = run(rows, cfg, cache_dir=str(cache_dir), show_progress=show_progress())
        pipeline.save(out)
    typer.echo(f"trained on {len(rows)} rows in {time.perf_counter() - start:.0f}s -> {out}")
    for name, value in pipeline.validation.items():
        typer.echo(f"  validation {name:<12} {value:.4f}")
    typer.echo(f"  ensemble order: {' + '.join(pipeline.order)}")


@app.command()
def predict(
    data: Annotated[Path, typer.Argument(help="Rows with id, original_text, rewritten_text.")],
    model: ModelOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Submission CSV (id, rewrite_prompt).")],
    chunk: Annotated[int, typer.Option(help="Rows per resumable chunk.")] = 256,
    time_budget: Annotated[
        float | None, typer.Option(help="Seconds; rows left when it runs out get the mean prompt.")
    ] = None,
    cache_dir: CacheOpt = DEFAULT_CACHE,
) -> None:
    """Predict a prompt for every row. Resumable: a rerun continues from OUTPUT.partial.jsonl."""
    from prompt_recovery.data import INPUT_COLUMNS, read_rows, write_submission
    from prompt_recovery.pipeline import FALLBACK, Pipeline
    from prompt_recovery.rowlog import RowLog

    with user_errors():
        rows = read_rows(data, require=INPUT_COLUMNS)
        pipeline = Pipeline.load(model, cache_dir=cache_dir)
        partial = RowLog(output.with_name(output.name + ".partial.jsonl"), ["id", "rewrite_prompt"])
        done = {row["id"]: row["rewrite_prompt"] for row in partial.rows}  # a torn last line is repaired
        todo = rows[~rows["id"].isin(done)]
        constant = pipeline.members.get("constant")
        mean_prompt = getattr(constant, "text", "") or FALLBACK
        deadline = None if time_budget is None else time.monotonic() + time_budget
        starts = range(0, len(todo), chunk)
        for start in tqdm(starts, desc="Predicting", unit="chunk", disable=not show_progress()):
            part = todo.iloc[start : start + chunk]
            if deadline is not None and time.monotonic() > deadline:
                texts = [mean_prompt] * len(part)
            else:
                texts, _ = pipeline.predict(part)
            partial.append({"id": rid, "rewrite_prompt": text} for rid, text in zip(part["id"], texts, strict=True))
            done.update(zip(part["id"], texts, strict=True))
        write_submission(output, rows["id"], [done[i] for i in rows["id"]])
        partial.path.unlink()
    typer.echo(f"wrote {len(rows)} predictions to {output}")


@app.command()
def evaluate(
    labelled: Annotated[
        Path, typer.Argument(help="Labelled rows (id, original_text, rewritten_text, rewrite_prompt).")
    ],
    model: ModelOpt,
    per_row: Annotated[Path | None, typer.Option(help="Write every row's scores per predictor here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    weights: Annotated[Path | None, typer.Option(help="Row weights (id, weight), e.g. from calibrate.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report (plots, best and worst rows) here.")] = None,
    split_file: Annotated[
        Path | None, typer.Option(help="CSV of id, split: score only the rows of --split (e.g. the validation split).")
    ] = None,
    split: Annotated[str, typer.Option(help="With --split-file: the split to score.")] = "validation",
    cache_dir: CacheOpt = DEFAULT_CACHE,
) -> None:
    """Score every member and the ensemble on labelled rows: mean SCS and bootstrap 95% CI."""
    from prompt_recovery.data import read_labelled_files, read_weights, write_table_atomic
    from prompt_recovery.metric import summarize
    from prompt_recovery.pipeline import Pipeline
    from prompt_recovery.scoring import score_prompts

    with user_errors():
        rows = read_labelled_files([labelled], [split_file] if split_file else (), split)
        row_weights = None if weights is None else read_weights(weights, list(rows["id"]))
        pipeline = Pipeline.load(model, cache_dir=cache_dir)
        ensemble, outputs = pipeline.predict(rows, every_member=True)
        truths = list(rows["rewrite_prompt"])
        table = rows[["id", "rewrite_prompt"]].copy()
        results = {}
        for name, texts in [*outputs.items(), ("ensemble", ensemble)]:
            filled = pipeline.combine({**outputs, name: texts}, [name]) if name != "ensemble" else texts
            scores = score_prompts(pipeline.embedder, filled, truths)
            table[f"{name}_prediction"], table[f"{name}_score"] = filled, scores
            results[name] = summarize(scores, row_weights).as_dict()
        if per_row is not None:
            write_table_atomic(table, per_row)
        if report is not None:
            from prompt_recovery.report import write_report

            write_report(
                report, table, results, f"prompt-recovery evaluation: {labelled.name} ({pipeline.config.encoder})"
            )
    if as_json:
        typer.echo(json.dumps({"encoder": pipeline.config.encoder, "predictors": results}))
        return
    typer.echo(f"{'predictor':<14} {'mean SCS':>9} {'95% CI':>19}   n={len(rows)}  encoder={pipeline.config.encoder}")
    for name, r in results.items():
        typer.echo(f"{name:<14} {r['mean']:>9.4f}   [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
