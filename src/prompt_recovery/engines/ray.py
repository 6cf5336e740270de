"""The Ray engine: ``predict``, ``evaluate`` and ``generate`` over the workers of a Ray cluster.

The driver (this process) reads and checks the input exactly as the local engine does, so bad input
is refused before any worker starts. It cuts the rows into blocks of ``block_rows`` (predict's chunks:
the same rows meet the model together, so the strings are the same), and Ray Data's ``map_batches``
sends each block to an actor pool: one actor per worker, each loading the model folder once. Ray
schedules, and retries a block whose worker dies (``max_restarts``/``max_task_retries``). The driver
writes each finished block to ``OUT.ray/block-NNNNNN.jsonl`` (atomically) beside ``run.json``, the
record of the run (model, bank, input, block size), so a rerun after the driver is killed skips the
finished blocks; the submission is then gathered in input order, written atomically, and the folder
deleted. Progress is ours (rows, rows/s, ETA); Ray Data's own bars are turned off.

Example::

    result = predict_ray("rows.csv", "submission.csv", model="model")          # a local cluster
    result = predict_ray("rows.csv", "sub.csv", model="model", address="ray://head:10001")
    result.rows, result.blocks, result.workers                                  # 20000, 79, {pid: peak MB}
"""

from __future__ import annotations

import json
import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from prompt_recovery.checks import check_path
from prompt_recovery.engines.blocks import RUN, Shards, cut, to_json
from prompt_recovery.errors import DataError
from prompt_recovery.progress import tqdm

INSTALL = "pip install 'prompt-recovery[ray]'"
BLOCK_ROWS = 256  # predict's default --chunk: a block is what the local engine predicts in one call


@dataclass
class RayResult:
    """What a Ray run did: rows, blocks (``resumed`` of them found finished), wall seconds, seconds spent
    inside the workers' model calls, and each worker's peak resident memory (pid -> MB)."""

    out: Path | None
    rows: int
    blocks: int
    resumed: int
    seconds: float
    worker_seconds: float = 0.0
    workers: dict[int, float] = field(default_factory=dict)


def require_ray() -> Any:
    """The ``ray`` module; ``DataError`` naming the extra to install when it is missing."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise DataError(f"--engine ray needs Ray, which is not installed ({exc}). Fix: {INSTALL}") from None
    return ray


@contextmanager
def cluster(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to the Ray cluster at ``address`` ("auto", "ray://host:10001", "host:6379"), or start a
    local one of ``num_cpus`` CPUs (all by default) that stops at the end. A Ray session the caller
    already started in this process is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(
            address=address,
            num_cpus=None if address else num_cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise DataError(
            f"--address {address}: cannot reach a Ray cluster there ({exc}). Fix: start one with "
            "`ray start --head` and pass the address it prints, or drop --address for a local cluster."
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


class PredictWorker:
    """Ray Data's callable class: loads the pipeline once (per worker), then predicts whole blocks.

    A batch is ``{"block": [i, ...], "rows": [JSON records, ...]}``; the answer has per block its rows'
    predictions as JSON (``payload``), the row count, the seconds inside the model, the pid and the peak
    resident MB. ``members``: each row also carries every member's prediction (for ``evaluate``)."""

    def __init__(
        self, model: str | None, bank: list[str], encoder: str | None, cache_dir: str | None, members: bool
    ) -> None:
        # one thread for the model: Ray may call from another thread than __init__'s, and the embedding
        # cache (SQLite) serves only the thread that opened it
        self.thread = ThreadPoolExecutor(max_workers=1)
        self.pipeline = self.thread.submit(self.load, model, bank, encoder, cache_dir).result()
        self.members = members

    @staticmethod
    def load(model: str | None, bank: list[str], encoder: str | None, cache_dir: str | None) -> Any:
        from prompt_recovery.prediction import load_predictor

        return load_predictor(None if model is None else Path(model), bank, encoder, cache_dir)

    def predict(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        if self.members:
            texts, member_texts = self.pipeline.predict(rows, every_member=True)
            names = list(member_texts)
            return [
                {"id": rid, "prediction": t, "members": {n: member_texts[n][k] for n in names}}
                for k, (rid, t) in enumerate(zip(rows["id"], texts, strict=True))
            ]
        metric, outputs = self.pipeline.predict(rows)
        plain = outputs.get("readable", metric)
        return [
            {"id": rid, "rewrite_prompt": t, "readable_prompt": r}
            for rid, t, r in zip(rows["id"], metric, plain, strict=True)
        ]

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        return self.thread.submit(run_batch, batch, lambda rows: self.predict(pd.DataFrame(rows))).result()


def run_batch(batch: dict[str, Any], work: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> dict[str, Any]:
    """Apply ``work`` to each block of a batch; the answer columns the driver reads (see PredictWorker)."""
    out: dict[str, list[Any]] = {k: [] for k in ("block", "payload", "rows", "seconds", "pid", "peak_mb")}
    for block, payload in zip(batch["block"], batch["rows"], strict=True):
        began = time.perf_counter()
        records = work(json.loads(payload))
        out["block"].append(int(block))
        out["payload"].append(json.dumps(records, ensure_ascii=True))
        out["rows"].append(len(records))
        out["seconds"].append(time.perf_counter() - began)
        out["pid"].append(os.getpid())
        out["peak_mb"].append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def run_blocks(
    ray: Any,
    blocks: dict[int, str],
    worker: type,
    kwargs: dict[str, Any],
    on_block: Callable[[int, list[dict[str, Any]], int], None],
    workers: int | None = None,
) -> tuple[float, dict[int, float]]:
    """Send ``blocks`` (number -> JSON rows) through an actor pool of ``worker(**kwargs)``, one per CPU of
    the cluster (or ``workers``); ``on_block(number, records, rows)`` as each one finishes, in any order.
    Returns the seconds spent inside the workers and each worker's peak resident MB."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the progress is ours
    context.print_on_execution_start = False
    size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    items = [{"block": number, "rows": payload} for number, payload in blocks.items()]
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        worker,
        fn_constructor_kwargs=kwargs,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(size, len(items)), max_tasks_in_flight_per_actor=2),
        num_cpus=1,
        max_restarts=-1,  # a killed worker comes back, loads the model again,
        max_task_retries=-1,  # and its unfinished block runs again
    )
    seconds, peaks = 0.0, dict[int, float]()
    for row in dataset.iter_rows():
        on_block(int(row["block"]), json.loads(row["payload"]), int(row["rows"]))
        seconds += float(row["seconds"])
        peaks[int(row["pid"])] = max(peaks.get(int(row["pid"]), 0.0), round(float(row["peak_mb"]), 1))
    return seconds, peaks


def predict_ray(
    data: str | Path,
    out: str | Path,
    *,
    model: str | Path | None = None,
    bank: str | None = None,
    encoder: str | None = None,
    style: Literal["metric", "readable"] = "metric",
    block_rows: int = BLOCK_ROWS,
    cache_dir: str | Path | None = None,
    address: str | None = None,
    workers: int | None = None,
    show_progress: bool = False,
    worker: type = PredictWorker,
) -> RayResult:
    """``prediction.predict_file`` on a Ray cluster: the same arguments, checks and submission (byte for
    byte), resumable by finished block from ``OUT.ray/``. ``worker``: the actor class (tests subclass it)."""
    from prompt_recovery.guard import check_output_folder
    from prompt_recovery.prediction import read_inputs, write_result

    started = time.monotonic()
    if not isinstance(block_rows, int) or block_rows < 1:
        raise DataError(f"block_rows: got {block_rows!r}, expected a whole number of rows >= 1.")
    out = check_path(out, "out")
    folder = out.with_name(out.name + ".ray")
    job = read_inputs(data, out, model, bank, encoder, style)
    check_output_folder(folder, [RUN], "-o", inputs=[job.data, job.bank_file], models=[job.model])
    rows, texts, model = job.rows, job.bank, job.model
    meta: dict[str, Any] = {**job.meta, "block_rows": block_rows}
    shards = Shards(folder, meta)
    parts = cut(rows, block_rows)
    done = shards.done()
    todo = {i: to_json(part) for i, part in enumerate(parts) if i not in done}
    result = RayResult(out, len(rows), len(parts), len(done), 0.0)
    if todo:
        kwargs = {
            "model": None if model is None else str(model.resolve()),
            "bank": texts,
            "encoder": encoder,
            "cache_dir": None if cache_dir is None else str(Path(cache_dir).resolve()),
            "members": False,
        }
        with (
            cluster(address) as ray,
            tqdm(total=len(rows), initial=len(rows) - sum(len(parts[i]) for i in todo), desc="Predicting",
                 unit="row", disable=not show_progress) as bar,
        ):  # fmt: skip

            def finished(block: int, records: list[dict[str, Any]], n: int) -> None:
                shards.write(block, records)
                bar.update(n)

            result.worker_seconds, result.workers = run_blocks(ray, todo, worker, kwargs, finished, workers)
    found = shards.gather(len(parts), rows["id"])
    metric = {rid: record["rewrite_prompt"] for rid, record in found.items()}
    write_result(job, metric, {rid: record["readable_prompt"] for rid, record in found.items()}, "")
    shards.discard()
    result.seconds = time.monotonic() - started
    return result


class Gathered:
    """A loaded pipeline whose ``predict`` answers from predictions gathered from the workers (by id):
    ``evaluation.evaluate`` then scores them exactly as it scores its own."""

    def __init__(self, pipeline: Any, found: dict[str, dict[str, Any]]) -> None:
        self._pipeline, self._found = pipeline, found

    def predict(self, rows: pd.DataFrame, every_member: bool = False) -> tuple[list[str], dict[str, list[str]]]:
        records = [self._found[rid] for rid in rows["id"]]
        names = list(records[0]["members"]) if records else []
        return [r["prediction"] for r in records], {n: [r["members"][n] for r in records] for n in names}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)


def evaluate_file_ray(
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
    address: str | None = None,
    workers: int | None = None,
    block_rows: int = BLOCK_ROWS,
    show_progress: bool = False,
) -> Any:
    """``evaluation.evaluate_file`` with the predictions made on a Ray cluster: the same checks (before
    any worker starts), then the workers predict every member of each block, and the driver scores,
    summarises and writes the per-row file and the report as the local engine does. Not resumable."""
    from prompt_recovery.evaluation import finish_evaluation, open_evaluation
    from prompt_recovery.pipeline import Pipeline

    job = open_evaluation(
        labelled, model, encoder=encoder, tokenization=tokenization, per_row=per_row, report=report,
        weights=weights, split_file=split_file, split=split, cache_dir=cache_dir,
    )  # fmt: skip
    found: dict[str, dict[str, Any]] = {}
    cache = None if cache_dir is None else str(Path(cache_dir).resolve())
    kwargs: dict[str, Any] = {
        "model": str(job.model.resolve()),
        "bank": [],
        "encoder": None,
        "cache_dir": cache,
        "members": True,
    }
    todo = {i: to_json(part) for i, part in enumerate(cut(job.rows, block_rows))}
    bar = tqdm(total=len(job.rows), desc="Predicting", unit="row", disable=not show_progress)
    with cluster(address) as ray, bar:

        def finished(block: int, records: list[dict[str, Any]], n: int) -> None:
            found.update((r["id"], r) for r in records)
            bar.update(n)

        run_blocks(ray, todo, PredictWorker, kwargs, finished, workers)
    pipeline = Pipeline.load(job.model, cache_dir=cache_dir)
    facts = {"engine": f"ray ({len(todo)} blocks)"}
    return finish_evaluation(job, pipeline, Gathered(pipeline, found), facts)


class GenerateWorker:
    """Ray Data's callable class for ``generate``: opens the LLM backend once per worker (``options``:
    ``llm_from_options``'s arguments; a list of ``base_url``s is shared out by worker), rewrites blocks of
    jobs, and answers the finished rows and the refused ids (JSON) to the driver, which logs them."""

    def __init__(self, options: dict[str, Any], config: Any) -> None:
        from prompt_recovery.llm import llm_from_options

        urls = options.get("base_url")
        if isinstance(urls, list):
            options = {**options, "base_url": urls[os.getpid() % len(urls)] if urls else None}
        self._stack = ExitStack()
        self.llm = self._stack.enter_context(llm_from_options(**options))
        self.config = config

    def work(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from prompt_recovery.generate import REWRITE_COLUMNS, Job, generate_rewrites
        from prompt_recovery.rowlog import RowLog

        jobs = [Job(**r) for r in records]
        with tempfile.TemporaryDirectory() as tmp:
            log = RowLog(Path(tmp) / "rows.jsonl", REWRITE_COLUMNS)
            result = generate_rewrites(self.llm, jobs, log, self.config)
            return [*log.rows, *({"id": i, "refused": why} for i, why in result.refused.items())]

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        return run_batch(batch, self.work)


def generate_ray(
    options: dict[str, Any],
    jobs: list[Any],
    rowlog: Any,
    config: Any,
    *,
    address: str | None = None,
    workers: int | None = None,
    block_rows: int = 16,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """``generate.generate_rewrites`` with the jobs spread over the workers of a Ray cluster: each worker
    calls the server(s) in ``options``; the driver appends every finished block to ``rowlog`` (so a rerun
    resumes as the local engine's does) and collects the refused ids."""
    from prompt_recovery.generate import Generated, check_resume

    check_resume(rowlog, jobs)
    todo_jobs = [job.__dict__ for job in jobs if job.id not in rowlog.done]
    result = Generated()
    if not todo_jobs:
        return result
    blocks = {i: json.dumps(todo_jobs[s : s + block_rows]) for i, s in enumerate(range(0, len(todo_jobs), block_rows))}

    def finished(block: int, records: list[dict[str, Any]], n: int) -> None:
        good = [r for r in records if "refused" not in r]
        rowlog.append(good)
        result.written += len(good)
        result.refused.update((r["id"], r["refused"]) for r in records if "refused" in r)
        if progress:
            progress(n)

    with cluster(address) as ray:
        run_blocks(ray, blocks, GenerateWorker, {"options": options, "config": config}, finished, workers)
    return result
