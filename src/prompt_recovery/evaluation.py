"""Evaluating a model on labelled rows: every member and the ensemble scored; the library side of ``evaluate``.

The ensemble row is what ``predict`` writes; each member row is that member alone, with the
ensemble's fallbacks for the rows it leaves blank (so a member that answers half the rows is not
scored on blanks). Scores are the metric's SCS per row, summarised as the (optionally weighted) mean
with a bootstrap 95% CI (``metric.summarize``).

Example::

    result = evaluate(rows, Pipeline.load("model"))            # rows: DataFrame with rewrite_prompt
    result.results["ensemble"]["mean"]                          # 0.1123
    result.table.columns[:4]                                    # id, rewrite_prompt, constant_prediction, ...
    evaluate_file("test.csv", "model", report="report.html")    # reads, scores, writes the files
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prompt_recovery.checks import check_path, check_rows
from prompt_recovery.embed import Embedder
from prompt_recovery.errors import DataError
from prompt_recovery.metric import summarize
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.prediction import chunks
from prompt_recovery.progress import tqdm
from prompt_recovery.scoring import score_prompts

CHUNK = 256  # rows per prediction call: progress and an ETA
REPORT_COLUMNS = ("original_text", "rewritten_text", "prompt_family", "genre")  # shown in the report when present


@dataclass
class Evaluation:
    """Per-row ``table`` (id, rewrite_prompt, then NAME_prediction and NAME_score per member and the
    ensemble) and ``results`` (NAME -> mean, ci_low, ci_high, n), scored with ``scored_with``."""

    table: pd.DataFrame
    results: dict[str, dict[str, float]]
    scored_with: str
    model_encoder: str  # the encoder the model predicts with
    notes: list[str] = field(default_factory=list)


def evaluate(
    rows: pd.DataFrame,
    pipeline: Pipeline,
    scorer: Embedder | None = None,
    weights: np.ndarray | None = None,
    show_progress: bool = False,
) -> Evaluation:
    """Score every member of ``pipeline`` and its ensemble on labelled ``rows`` with ``scorer`` (the
    pipeline's own embedder by default), weighting rows by ``weights`` [N] when given."""
    rows = check_rows(rows, ("id", "original_text", "rewritten_text", "rewrite_prompt"), "evaluate rows")
    scorer = scorer or pipeline.embedder
    ensemble: list[str] = []
    outputs: dict[str, list[str]] = {}
    with tqdm(total=len(rows), desc="Evaluating", unit="row", disable=not show_progress) as bar:
        for part in chunks(rows, CHUNK, None):
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
        results[name] = summarize(scores, weights).as_dict()
    scored_with = pipeline.settings.encoder if scorer is pipeline.embedder else scorer.identity
    return Evaluation(table, results, scored_with, pipeline.settings.encoder)


@dataclass
class EvaluationJob:
    """An evaluation's checked arguments and inputs (``open_evaluation``), before any model loads."""

    labelled: Path
    model: Path
    rows: pd.DataFrame
    row_weights: np.ndarray | None
    encoder: str | None = None
    tokenization: str = "auto"
    per_row: str | Path | None = None
    report: str | Path | None = None
    weights: str | Path | None = None
    split_file: str | Path | None = None
    split: str = "validation"
    cache_dir: str | Path | None = None


def evaluate_file(
    labelled: str | Path,
    model: str | Path,
    *,
    encoder: str | None = None,
    tokenization: str = "auto",
    per_row: str | Path | None = None,
    report: str | Path | None = None,
    weights: str | Path | None = None,
    split_file: str | Path | None = None,
    split: str = "validation",
    cache_dir: str | Path | None = None,
    show_progress: bool = False,
) -> Evaluation:
    """``evaluate`` on a file of labelled rows (only ``split`` of ``split_file`` when given) with the
    model folder ``model``, scored with ``encoder`` (the model's own when None); writes the per-row CSV
    and the HTML report when asked. Outputs are checked before any work (never an input or a file of
    the model folder)."""
    job = open_evaluation(
        labelled, model, encoder=encoder, tokenization=tokenization, per_row=per_row, report=report,
        weights=weights, split_file=split_file, split=split, cache_dir=cache_dir,
    )  # fmt: skip
    pipeline = Pipeline.load(job.model, cache_dir=cache_dir)
    return finish_evaluation(job, pipeline, show_progress=show_progress)


def open_evaluation(labelled: str | Path, model: str | Path, **options: Any) -> EvaluationJob:
    """Check the outputs (never an input or a file of the model folder; not both the same file) and read
    the rows and weights of an evaluation; ``options`` are ``EvaluationJob``'s fields. Every engine
    calls this first, so bad input is refused alike and before any model loads."""
    from prompt_recovery.data import read_labelled_files, read_weights
    from prompt_recovery.fileio import same_file
    from prompt_recovery.guard import check_outputs

    labelled, model = check_path(labelled, "labelled"), check_path(model, "model")
    job = EvaluationJob(labelled, model, pd.DataFrame(), None, **options)
    encoder = job.encoder
    local_encoder = encoder if encoder is not None and Path(encoder).exists() else None
    inputs = [labelled, job.split_file, job.weights]
    check_outputs([("--per-row", job.per_row), ("--report", job.report)], inputs=inputs, models=[model, local_encoder])
    if job.per_row is not None and job.report is not None and same_file(Path(job.per_row), Path(job.report)):
        raise DataError(f"--per-row and --report both name {job.per_row}. Fix: give them different paths.")
    job.rows = read_labelled_files([labelled], [Path(job.split_file)] if job.split_file else (), job.split)
    job.row_weights = None if job.weights is None else read_weights(Path(job.weights), list(job.rows["id"]))
    return job


def finish_evaluation(
    job: EvaluationJob,
    pipeline: Pipeline,
    predictor: Any = None,
    facts: dict[str, str] | None = None,
    show_progress: bool = False,
) -> Evaluation:
    """Score ``job``'s rows with ``pipeline`` (or with ``predictor``, anything with the pipeline's
    ``predict``, e.g. predictions gathered from a cluster) and write the per-row file and the report;
    ``facts`` join the report's run details."""
    from prompt_recovery.embed import load_embedder
    from prompt_recovery.fileio import write_table_atomic

    scorer = pipeline.embedder
    if job.encoder is not None:
        scorer = load_embedder(job.encoder, tokenization=job.tokenization, cache_dir=job.cache_dir)
    result = evaluate(job.rows, predictor or pipeline, scorer, job.row_weights, show_progress)
    result.scored_with = job.encoder or pipeline.settings.encoder
    result.notes = weighted_note(job.weights, job.row_weights)
    if job.per_row is not None:
        write_table_atomic(result.table, Path(job.per_row))
    if job.report is not None:
        from prompt_recovery.report import write_report

        facts = {
            "model folder": str(job.model.resolve()),
            "members (ensemble order)": " + ".join(pipeline.order),
            "prediction encoder": f"{pipeline.settings.encoder} (tokenization {pipeline.embedder.tokenizer.mode})",
            "scoring encoder": f"{result.scored_with} (tokenization {scorer.tokenizer.mode})",
            **(facts or {}),
            **run_facts(job.labelled, len(job.rows), job.split_file, job.split, job.weights, job.row_weights),
        }
        extra = [c for c in REPORT_COLUMNS if c in job.rows.columns]
        write_report(
            Path(job.report),
            pd.concat([result.table, job.rows[extra]], axis=1),
            result.results,
            f"prompt-recovery evaluation: {job.labelled.name}",
            facts=facts,
            members=member_rows(pipeline),
            weights=job.row_weights,
            warnings=result.notes,
        )
    return result


def weighted_note(path: str | Path | None, weights: Any) -> list[str]:
    """The line that says a score is weighted, and how much the weights narrow the rows (ESS)."""
    if path is None or weights is None:
        return []
    from prompt_recovery.calibrate import effective_sample_size

    ess = effective_sample_size(weights)
    return [
        f"scores are weighted by {path} (effective sample size {ess:.0f} of {len(weights)} rows); "
        "drop --weights for the plain mean"
    ]


def run_facts(
    labelled: Path, n: int, split_file: str | Path | None, split: str, weights: str | Path | None, row_weights: Any
) -> dict[str, str]:
    """The report's run details: rows and their source, weights, date, version."""
    facts = {"rows": f"{n} from {labelled}" + (f" (split {split!r} of {split_file})" if split_file else "")}
    if weights is not None and row_weights is not None:
        from prompt_recovery.calibrate import effective_sample_size

        facts["weights"] = f"{weights} (effective sample size {effective_sample_size(row_weights):.0f} of {n})"
    facts["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    facts["prompt-recovery"] = version("prompt-recovery")
    return facts


def member_rows(pipeline: Any) -> list[dict[str, str]]:
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


def _flat(table: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """``{"k": 3, "invert": {"join": 3}}`` -> ``k=3``, ``invert.join=3``."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}={value}"
