"""``prompt-recovery train``, ``predict`` and ``evaluate``: the recovery pipeline end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from prompt_recovery.errors import DataError
from prompt_recovery.progress import tqdm

if TYPE_CHECKING:
    import pandas as pd

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


EVALUATE_CHUNK = 256  # rows per prediction call in evaluate (predict's default chunk): progress and an ETA


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


def model_fingerprint(model: Path) -> str:
    """What a partial prediction file records about the model: a hash of its folder's files."""
    from prompt_recovery.rowlog import fingerprint

    if not (model / "pipeline.json").is_file():
        raise DataError(
            f"{model}: no trained model here (missing pipeline.json). Fix: run `prompt-recovery train` first."
        )
    return fingerprint(model)


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
    from prompt_recovery.pipeline import PipelineConfig
    from prompt_recovery.pipeline import train as run

    with user_errors():
        check_model_out(out)
        cfg = load_config(config) if config else PipelineConfig()
        rows = read_labelled_files(labelled, split_file or (), split)
        if encoder:
            cfg = cfg.with_encoder(encoder)
        if bank is not None:
            cfg = PipelineConfig(replace(cfg.settings, bank=bank), cfg.members)
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
) -> None:
    """Predict a prompt for every row, with a trained --model, a training-free --bank, or both.

    Resumable: a rerun of the same line continues from OUTPUT.partial.jsonl.

    Examples:

        prompt-recovery predict data/demo/test.csv --model model -o submission.csv
        prompt-recovery predict rows.csv --bank osyuksel -o submission.csv --time-budget 600
    """
    started = time.monotonic()
    output = renamed(out, output, "--output", "-o/--out")
    if output is None:
        typer.echo("error: give the submission to write with -o/--out FILE.", err=True)
        raise typer.Exit(2)
    from prompt_recovery.banks import extend, read_bank
    from prompt_recovery.banks import fingerprint as bank_fingerprint
    from prompt_recovery.data import INPUT_COLUMNS, check_output_path, read_rows, write_submission
    from prompt_recovery.pipeline import Pipeline, PipelineSettings, training_free
    from prompt_recovery.rowlog import RowLog, fingerprint

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
        check_output_path(output, [data], "-o")
        partial_path = check_output_path(output.with_name(output.name + ".partial.jsonl"), [data], "-o")
        rows = read_rows(data, require=INPUT_COLUMNS)
        texts = read_bank(bank) if bank is not None else []
        meta: dict[str, str] = {"job": "predict"}
        if model is not None:
            meta["model"] = model_fingerprint(model)
        else:
            meta.update(model="training-free", encoder=encoder or PipelineSettings().encoder)
        if texts:
            meta["bank"] = bank_fingerprint(texts)
        meta["input"] = fingerprint(data)
        partial = RowLog(partial_path, ["id", "rewrite_prompt", "readable_prompt"], meta=meta)  # another run's: refused
        done = {row["id"]: row["rewrite_prompt"] for row in partial.rows}  # a torn last line is repaired
        readable = {row["id"]: row.get("readable_prompt") or row["rewrite_prompt"] for row in partial.rows}
        if partial.adopted:
            typer.echo(f"note: resuming {partial.path}, which does not record the model and input it is for", err=True)
        if model is None:
            settings = PipelineSettings(encoder=encoder) if encoder else PipelineSettings()
            pipeline = training_free(
                texts, settings, cache_dir=cache_of(cache_dir, no_cache), show_progress=show_progress()
            )
        else:
            pipeline = Pipeline.load(model, cache_dir=cache_of(cache_dir, no_cache))
            if texts:
                pipeline.bank = extend(pipeline.bank, texts, pipeline.embedder, show_progress())
        todo = rows[~rows["id"].isin(done)]
        # stop a little early: writing the submission and leaving the interpreter take a moment too
        deadline = None if time_budget is None else started + time_budget - min(0.05 * time_budget, 2.0)
        with tqdm(total=len(todo), desc="Predicting", unit="row", disable=not show_progress()) as bar:
            for part in _chunks(todo, chunk, deadline):
                texts, outputs = pipeline.predict(part)
                plain = outputs.get("readable", texts)
                partial.append(
                    {"id": rid, "rewrite_prompt": t, "readable_prompt": r}
                    for rid, t, r in zip(part["id"], texts, plain, strict=True)
                )
                done.update(zip(part["id"], texts, strict=True))
                readable.update(zip(part["id"], plain, strict=True))
                bar.update(len(part))
        left = [rid for rid in todo["id"] if rid not in done]
        fallback = mean_prompt(pipeline)
        metric = [done.get(rid, fallback) for rid in rows["id"]]
        plain_all = [readable.get(rid, fallback) for rid in rows["id"]]
        write_submission(output, rows["id"], plain_all if style is Style.readable else metric, readable=plain_all)
        if not left:
            partial.discard()
    typer.echo(f"wrote {len(rows)} predictions to {output}")
    if left:
        typer.echo(
            f"time budget: {len(left)} of {len(rows)} rows fell back to the mean prompt (budget {time_budget:g}s, "
            f"{time.monotonic() - started:.1f}s used). Rerun the same command to predict them: the "
            f"{len(partial.rows)} predicted rows are kept in {partial.path}."
        )


def mean_prompt(pipeline: Any) -> str:
    """The pipeline's mean prompt (``pipeline.mean_prompt``, else its constant member's text), else ``FALLBACK``."""
    from prompt_recovery.pipeline import FALLBACK

    text = getattr(pipeline, "mean_prompt", None)
    if callable(text):
        text = text()
    if not isinstance(text, str) or not text.strip():
        text = getattr(pipeline.members.get("constant"), "text", "")
    return text if isinstance(text, str) and text.strip() else FALLBACK


def _chunks(rows: pd.DataFrame, size: int, deadline: float | None) -> Iterator[pd.DataFrame]:
    """``rows`` in chunks of ``size``; with a ``deadline`` (``time.monotonic()``), chunks start at 4 rows
    and grow (at most 4x a step) while the measured time per row says the next one ends before it (with
    a 25% margin); they stop when not even one row would."""
    if deadline is None:
        for start in range(0, len(rows), size):
            yield rows.iloc[start : start + size]
        return
    start, step, per_row = 0, min(size, 4), None
    while start < len(rows):
        left = deadline - time.monotonic()
        if per_row is not None:
            step = min(size, 4 * step, int(left / (1.25 * per_row)))
        if step < 1 or left <= 0:
            return
        began = time.monotonic()
        part = rows.iloc[start : start + step]
        yield part
        took = (time.monotonic() - began) / len(part)
        per_row = took if per_row is None else max(took, 0.5 * per_row + 0.5 * took)
        start += len(part)


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
) -> None:
    """Score every member and the ensemble of a model on labelled rows: mean SCS and bootstrap 95% CI.

    The ensemble row is what `predict` writes; each member row is that member alone, with the ensemble's
    fallbacks for rows it leaves blank.

    Examples:

        prompt-recovery evaluate data/demo/test.csv --model model --report report.html
        prompt-recovery evaluate rows.csv --model model --encoder sentence-t5 --json
    """
    from prompt_recovery.data import check_output_path, read_labelled_files, read_weights, same_file, write_table_atomic
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.metric import summarize
    from prompt_recovery.pipeline import Pipeline
    from prompt_recovery.scoring import score_prompts

    with user_errors():
        inputs = [labelled, split_file, weights]
        for path, flag in ((per_row, "--per-row"), (report, "--report")):
            if path is not None:
                check_output_path(path, inputs, flag)
        if per_row is not None and report is not None and same_file(per_row, report):
            raise DataError(f"--per-row and --report both name {per_row}. Fix: give them different paths.")
        rows = read_labelled_files([labelled], [split_file] if split_file else (), split)
        row_weights = None if weights is None else read_weights(weights, list(rows["id"]))
        cache = cache_of(cache_dir, no_cache)
        pipeline = Pipeline.load(model, cache_dir=cache)
        scorer = pipeline.embedder
        if encoder is not None:
            scorer = load_embedder(encoder, tokenization=tokenization, cache_dir=cache)
        scored_with = encoder or pipeline.settings.encoder
        ensemble: list[str] = []
        outputs: dict[str, list[str]] = {}
        with tqdm(total=len(rows), desc="Evaluating", unit="row", disable=not show_progress()) as bar:
            for part in _chunks(rows, EVALUATE_CHUNK, None):
                texts, member_texts = pipeline.predict(part, every_member=True)
                ensemble += texts
                for name, values in member_texts.items():
                    outputs.setdefault(name, []).extend(values)
                bar.update(len(part))
        truths = list(rows["rewrite_prompt"])
        table = rows[["id", "rewrite_prompt"]].copy()
        results = {}
        for name, texts in [*outputs.items(), ("ensemble", ensemble)]:
            filled = pipeline.combine({**outputs, name: texts}, [name]) if name != "ensemble" else texts
            scores = score_prompts(scorer, filled, truths)
            table[f"{name}_prediction"], table[f"{name}_score"] = filled, scores
            results[name] = summarize(scores, row_weights).as_dict()
        if per_row is not None:
            write_table_atomic(table, per_row)
        if report is not None:
            import pandas as pd

            from prompt_recovery.report import write_report

            extra = [c for c in REPORT_COLUMNS if c in rows.columns]
            facts = {
                "model folder": str(model.resolve()),
                "members (ensemble order)": " + ".join(pipeline.order),
                "prediction encoder": f"{pipeline.settings.encoder} (tokenization {pipeline.embedder.tokenizer.mode})",
                "scoring encoder": f"{scored_with} (tokenization {scorer.tokenizer.mode})",
                **_run_facts(labelled, len(rows), split_file, split, weights, row_weights),
            }
            write_report(
                report,
                pd.concat([table, rows[extra]], axis=1),
                results,
                f"prompt-recovery evaluation: {labelled.name}",
                facts=facts,
                members=_member_rows(pipeline),
                weights=row_weights,
                warnings=weighted_warning(weights, row_weights),
            )
    note = weighted_warning(weights, row_weights)
    if report is not None:
        typer.echo(f"wrote the report to {report}", err=as_json)
    if per_row is not None:
        typer.echo(f"wrote the per-row scores to {per_row}", err=as_json)
    if as_json:
        doc = {"encoder": scored_with, "model_encoder": pipeline.settings.encoder, "predictors": results}
        typer.echo(json.dumps({**doc, "weighted": weights is not None}))
    else:
        typer.echo(f"{'predictor':<14} {'mean SCS':>9} {'95% CI':>19}   n={len(rows)}  encoder={scored_with}")
        for name, r in results.items():
            typer.echo(f"{name:<14} {r['mean']:>9.4f}   [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
    for line in note:
        typer.echo(f"note: {line}", err=True)


REPORT_COLUMNS = ("original_text", "rewritten_text", "prompt_family", "genre")


def weighted_warning(path: Path | None, weights: Any) -> list[str]:
    """The line that says a score is weighted, and how much the weights narrow the rows (ESS)."""
    if path is None or weights is None:
        return []
    from prompt_recovery.calibrate import effective_sample_size

    ess = effective_sample_size(weights)
    return [
        f"scores are weighted by {path} (effective sample size {ess:.0f} of {len(weights)} rows); "
        "drop --weights for the plain mean"
    ]


def _run_facts(
    labelled: Path, n: int, split_file: Path | None, split: str, weights: Path | None, row_weights: Any
) -> dict[str, str]:
    import datetime
    from importlib.metadata import version

    facts = {"rows": f"{n} from {labelled}" + (f" (split {split!r} of {split_file})" if split_file else "")}
    if weights is not None and row_weights is not None:
        from prompt_recovery.calibrate import effective_sample_size

        facts["weights"] = f"{weights} (effective sample size {effective_sample_size(row_weights):.0f} of {n})"
    facts["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    facts["prompt-recovery"] = version("prompt-recovery")
    return facts


def _flat(table: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """``{"k": 3, "invert": {"join": 3}}`` -> ``k=3``, ``invert.join=3``."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}={value}"


def _member_rows(pipeline: Any) -> list[dict[str, str]]:
    """One row per member for the report: name, kind, place in the ensemble, its settings."""
    rows = []
    for name, member in pipeline.members.items():
        place = str(pipeline.order.index(name) + 1) if name in pipeline.order else "not used"
        try:
            table = member.to_table()
        except Exception:  # a member that cannot describe itself still gets a row
            table = {}
        settings = ", ".join(_flat({k: v for k, v in table.items() if k != "kind"}))
        rows.append({"member": name, "kind": member.kind, "ensemble place": place, "settings": settings or "defaults"})
    return rows
