"""Predicting a file: resumable, within a time budget, never blank; the library side of ``predict``.

``predict_file`` reads the rows (refusing bad input before any model loads), loads a trained model
or builds a training-free one over a bank, predicts in chunks, appends each chunk to
``OUT.partial.jsonl`` (whose sidecar records the model, bank and input, so a rerun resumes only its
own rows), and writes the submission atomically. With a ``time_budget`` the chunks start small and
grow while the measured time per row says the next one ends in time; rows left over get the mean
prompt and stay in the partial file's to-do list, so the same call again predicts them.

Example::

    result = predict_file("rows.csv", "submission.csv", model="model", time_budget=600)
    result.rows, result.left          # 1300, 0 (rows written; rows that fell back for lack of time)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from prompt_recovery.checks import check_path
from prompt_recovery.errors import DataError
from prompt_recovery.pipeline import FALLBACK, Pipeline, PipelineSettings, training_free
from prompt_recovery.progress import tqdm

COLUMNS = ("id", "rewrite_prompt", "readable_prompt")  # of the submission and its partial file


@dataclass(frozen=True)
class PredictResult:
    """What ``predict_file`` did: rows written, rows that fell back to the mean prompt for lack of
    time (a rerun predicts them), the partial file that keeps the predicted rows, and the budget."""

    out: Path
    rows: int
    left: int
    partial: Path
    kept: int  # rows predicted so far (in the partial file when ``left``)
    seconds: float


def predict_file(
    data: str | Path,
    out: str | Path,
    *,
    model: str | Path | None = None,
    bank: str | None = None,
    encoder: str | None = None,
    style: Literal["metric", "readable"] = "metric",
    chunk: int = 256,
    time_budget: float | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = False,
    started: float | None = None,
) -> PredictResult:
    """Predict every row of ``data`` (id, original_text, rewritten_text) into ``out`` (id,
    rewrite_prompt, readable_prompt; .csv, .jsonl or .parquet) with a trained ``model`` folder, a
    training-free ``bank``, or both (the bank's prompts join the model's). ``style`` "readable" puts
    the plain instruction in rewrite_prompt. ``started`` (``time.monotonic()``) is when the budget
    began (a command passes its own start so that setup counts). ``DataError`` for bad arguments or
    input, before any model loads."""
    from prompt_recovery.rowlog import RowLog

    started = time.monotonic() if started is None else started
    if not isinstance(chunk, int) or chunk < 1:
        raise DataError(f"chunk: got {chunk!r}, expected a whole number of rows >= 1.")
    out = check_path(out, "out")
    partial_path = out.with_name(out.name + ".partial.jsonl")
    job = read_inputs(data, out, model, bank, encoder, style, [("-o", partial_path)])
    rows, texts, meta = job.rows, job.bank, job.meta
    model = job.model
    partial = RowLog(partial_path, list(COLUMNS), meta=meta)  # another run's file: refused
    done = {row["id"]: row["rewrite_prompt"] for row in partial.rows}  # a torn last line is repaired
    readable = {row["id"]: row.get("readable_prompt") or row["rewrite_prompt"] for row in partial.rows}
    pipeline = load_predictor(model, texts, encoder, cache_dir, show_progress)
    todo = rows[~rows["id"].isin(done)]
    # stop a little early: writing the submission and leaving the interpreter take a moment too
    deadline = None if time_budget is None else started + time_budget - min(0.05 * time_budget, 2.0)
    with tqdm(total=len(todo), desc="Predicting", unit="row", disable=not show_progress) as bar:
        for part in chunks(todo, chunk, deadline):
            metric, outputs = pipeline.predict(part)
            plain = outputs.get("readable", metric)
            partial.append(
                {"id": rid, "rewrite_prompt": t, "readable_prompt": r}
                for rid, t, r in zip(part["id"], metric, plain, strict=True)
            )
            done.update(zip(part["id"], metric, strict=True))
            readable.update(zip(part["id"], plain, strict=True))
            bar.update(len(part))
    left = sum(rid not in done for rid in todo["id"])
    write_result(job, done, readable, pipeline.mean_prompt or FALLBACK)
    if not left:
        partial.discard()
    return PredictResult(out, len(rows), left, partial.path, len(partial.rows), time.monotonic() - started)


@dataclass
class PredictInputs:
    """A prediction job's checked arguments and inputs: the rows, the bank's prompts, and ``meta``, what a
    resumable record says about the run (model, bank and input fingerprints)."""

    data: Path
    out: Path
    model: Path | None
    style: str
    rows: pd.DataFrame
    bank: list[str]
    bank_file: Path | None
    meta: dict[str, str]


def read_inputs(
    data: str | Path,
    out: str | Path,
    model: str | Path | None,
    bank: str | None,
    encoder: str | None,
    style: str,
    outputs: Sequence[tuple[str, Path]] = (),
) -> PredictInputs:
    """Check a prediction job's arguments and outputs (``out`` and ``outputs``: never an input or a model
    file), read its rows and bank. Every engine calls this first, so bad input is refused alike and
    before any model loads or worker starts. ``DataError`` naming the argument, file or row."""
    from prompt_recovery.banks import fingerprint as bank_fingerprint
    from prompt_recovery.banks import read_bank
    from prompt_recovery.data import INPUT_COLUMNS, read_rows
    from prompt_recovery.guard import check_outputs
    from prompt_recovery.rowlog import fingerprint

    data, out = check_path(data, "data"), check_path(out, "out")
    model = None if model is None else check_path(model, "model")
    if model is None and bank is None:
        raise DataError("predict needs a model folder (from `train`) or a bank (training-free, e.g. bank='osyuksel').")
    if model is not None and encoder is not None:
        raise DataError(
            f"encoder {encoder}: a trained model keeps the encoder it was trained with. "
            "Fix: drop the encoder (it is for a bank without a model)."
        )
    if style not in ("metric", "readable"):
        raise DataError(f"style: got {style!r}, expected 'metric' or 'readable'.")
    bank_file = None if bank is None or not Path(bank).suffix else Path(bank)
    check_outputs([("-o", out), *outputs], inputs=[data, bank_file], models=[model])
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
    return PredictInputs(data, out, model, style, rows, texts, bank_file, meta)


def load_predictor(
    model: Path | None,
    bank: list[str],
    encoder: str | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = False,
) -> Pipeline:
    """The pipeline a prediction job runs: the ``model`` folder with the ``bank`` prompts it lacks
    appended to its bank, or without a model a training-free pipeline over ``bank`` (``encoder``)."""
    if model is None:
        settings = PipelineSettings(encoder=encoder) if encoder else PipelineSettings()
        return training_free(bank, settings, cache_dir=cache_dir, show_progress=show_progress)
    pipeline = Pipeline.load(model, cache_dir=cache_dir)
    if bank:
        pipeline.bank = pipeline.bank.with_encoded(bank, pipeline.embedder, show_progress)
    return pipeline


def write_result(job: PredictInputs, metric: dict[str, str], readable: dict[str, str], fallback: str) -> None:
    """The submission of ``job``, atomically: per input row (in input order) its metric string and its
    readable prompt by id, ``fallback`` for rows without one; ``style`` "readable" puts the readable
    prompt in rewrite_prompt too."""
    from prompt_recovery.data import write_submission

    ids = job.rows["id"]
    metric_all = [metric.get(rid, fallback) for rid in ids]
    plain_all = [readable.get(rid, fallback) for rid in ids]
    write_submission(job.out, ids, plain_all if job.style == "readable" else metric_all, readable=plain_all)


def model_fingerprint(model: Path) -> str:
    """What a partial prediction file records about the model: a hash of its folder's files."""
    from prompt_recovery.rowlog import fingerprint

    if not (model / "pipeline.json").is_file():
        raise DataError(
            f"{model}: no trained model here (missing pipeline.json). Fix: run `prompt-recovery train` first."
        )
    return fingerprint(model)


def chunks(rows: pd.DataFrame, size: int, deadline: float | None) -> Iterator[pd.DataFrame]:
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
