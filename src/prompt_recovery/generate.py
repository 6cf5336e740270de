"""Synthetic data: an LLM rewrites original texts by sampled instructions, or invents new instructions.

``plan_pairs`` draws N distinct (original, prompt) pairs with a seed; row ``k`` always gets the same pair
and the id ``g{seed}-{k:06d}``, so a plan for 30 rows extends the plan for 20. ``generate_rewrites``
runs the plan through an LLM in batches of ``llm.concurrency`` and appends each finished row to a
``RowLog``: killed at any moment and rerun, it skips the ids already written and repairs a torn last
record, so the output ends with exactly N distinct rows. An answer that is not a rewrite (blank, a copy
of the text, the instruction or a few-shot example, chat-template tokens: ``rewrite_problem``) is
asked again with other seeds and, if it stays bad, is not written: ``Generated.refused`` says which
rows and why, and a rerun retries them.

Output columns: ``id, original_text, rewrite_prompt, rewritten_text, finish_reason, llm``.

Example::

    jobs = plan_pairs(originals, prompts, n=20, seed=0)
    log = RowLog("triples.jsonl", REWRITE_COLUMNS)
    result = generate_rewrites(load_llm("embedded"), jobs, log, GenerationConfig(max_tokens=200))
    result.written, result.refused                 # 18, {'g0-000004': 'a copy of the original text', ...}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from prompt_recovery.errors import DataError
from prompt_recovery.llm.base import LLM, GenerationConfig
from prompt_recovery.llm.templates import (
    PROMPT_STOP,
    REWRITE_STOP,
    TEMPLATE_TOKENS,
    clean_line,
    prompt_request,
    rewrite_problem,
    rewrite_request,
)
from prompt_recovery.rowlog import RowLog

log = logging.getLogger(__name__)

REWRITE_COLUMNS = ("id", "original_text", "rewrite_prompt", "rewritten_text", "finish_reason", "llm")
PROMPT_COLUMNS = ("id", "rewrite_prompt", "llm")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Job:
    id: str
    original_text: str
    rewrite_prompt: str


def plan_pairs(originals: Sequence[str], prompts: Sequence[str], n: int, seed: int = 0) -> list[Job]:
    """``n`` distinct (original, prompt) pairs drawn uniformly with ``seed``; a prefix-stable plan."""
    if not originals or not prompts:
        raise DataError("need at least one original text and one prompt")
    if n > len(originals) * len(prompts):
        raise DataError(
            f"asked for {n} rows but only {len(originals) * len(prompts)} distinct (original, prompt) pairs "
            "exist. Fix: lower -n or give more originals or prompts."
        )
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int]] = set()
    jobs: list[Job] = []
    while len(jobs) < n:
        pair = (int(rng.integers(len(originals))), int(rng.integers(len(prompts))))
        if pair in seen:
            continue
        seen.add(pair)
        jobs.append(Job(f"g{seed}-{len(jobs):06d}", originals[pair[0]], prompts[pair[1]]))
    return jobs


def check_resume(rowlog: RowLog, jobs: Sequence[Job]) -> None:
    """Rows already in the log must be the plan's rows (same seed and inputs), else resuming would mix runs."""
    planned = {job.id: job for job in jobs}
    for number, row in enumerate(rowlog.rows, 1):
        job = planned.get(row["id"])
        if job is None or (row["original_text"], row["rewrite_prompt"]) != (job.original_text, job.rewrite_prompt):
            raise DataError(
                f"{rowlog.path}, row {number} (id {row['id']}): not part of this run's plan (another --seed, "
                "other inputs or a smaller -n). Fix: rerun with the same inputs and --seed, or a new --out."
            )


@dataclass
class Generated:
    """What one ``generate_rewrites`` call did: rows written, and rows refused (id -> why), not written."""

    written: int = 0
    refused: dict[str, str] = field(default_factory=dict)


def generate_rewrites(
    llm: LLM,
    jobs: Sequence[Job],
    rowlog: RowLog,
    config: GenerationConfig,
    *,
    progress: Progress | None = None,
    retries: int = 2,
) -> Generated:
    """Rewrite every job not yet in ``rowlog``.

    An answer that is not a rewrite (``rewrite_problem``) is asked again with another seed up to
    ``retries`` times; one that stays bad is left out of the log (a rerun asks again) and reported in
    ``Generated.refused``.
    """
    check_resume(rowlog, jobs)
    todo = [job for job in jobs if job.id not in rowlog.done]
    if config.stop == ():
        config = GenerationConfig(config.max_tokens, () if llm.chat else REWRITE_STOP, config.temperature, config.seed)
    step = max(1, llm.concurrency)
    result = Generated()
    for start in range(0, len(todo), step):
        batch = todo[start : start + step]
        requests = [rewrite_request(job.rewrite_prompt, job.original_text, chat=llm.chat) for job in batch]
        texts, finish = [""] * len(batch), ["stop"] * len(batch)
        problems: list[str | None] = ["blank"] * len(batch)
        for attempt in range(retries + 1):
            missing = [i for i, problem in enumerate(problems) if problem]
            if not missing:
                break
            seed = config.seed + attempt * 1_000_003
            outs = llm.generate([requests[i] for i in missing], config.with_seed(seed))
            for i, out in zip(missing, outs, strict=True):
                texts[i], finish[i] = out.text.strip(), out.finish_reason
                problems[i] = rewrite_problem(texts[i], batch[i].rewrite_prompt, batch[i].original_text)
        good = [i for i, problem in enumerate(problems) if problem is None]
        rowlog.append(
            {**batch[i].__dict__, "rewritten_text": texts[i], "finish_reason": finish[i], "llm": llm.describe()}
            for i in good
        )
        for i, problem in enumerate(problems):
            if problem is not None:
                log.info("%s: not written (%s): %r", batch[i].id, problem, texts[i][:200])
                result.refused[batch[i].id] = problem
        result.written += len(good)
        if progress:
            progress(len(batch))
    return result


def generate_prompts(
    llm: LLM,
    bank: Sequence[str],
    n: int,
    rowlog: RowLog,
    config: GenerationConfig,
    *,
    seed: int = 0,
    shots: int = 8,
    max_attempts_per_prompt: int = 20,
    progress: Progress | None = None,
) -> int:
    """Invent prompts until ``rowlog`` holds ``n`` new ones (not in ``bank``, no repeats); returns how many
    this call added. Each attempt shows ``shots`` bank prompts drawn with ``seed`` and the attempt number,
    so a rerun after a kill continues the same sequence of attempts."""
    if not bank:
        raise DataError("the prompt bank is empty")
    known = {p.strip().lower() for p in bank} | {row["rewrite_prompt"].lower() for row in rowlog.rows}
    if config.stop == ():
        config = GenerationConfig(config.max_tokens, PROMPT_STOP, config.temperature or 0.9, config.seed)
    added, attempt = 0, 0
    budget = max_attempts_per_prompt * n
    while len(rowlog.rows) < n and attempt < budget:
        rng = np.random.default_rng([seed, attempt])
        examples = [bank[i] for i in rng.choice(len(bank), size=min(shots, len(bank)), replace=False)]
        out = llm.generate([prompt_request(examples, chat=llm.chat)], config.with_seed(seed * 1_000_003 + attempt))
        text = clean_line(out[0].text, max_words=40)
        attempt += 1
        if len(text.split()) < 2 or text.lower() in known or TEMPLATE_TOKENS.search(text):
            continue
        known.add(text.lower())
        rowlog.append([{"id": f"p{seed}-{len(rowlog.rows):06d}", "rewrite_prompt": text, "llm": llm.describe()}])
        added += 1
        if progress:
            progress(1)
    if len(rowlog.rows) < n:
        log.warning("stopped after %d attempts with %d of %d new prompts", attempt, len(rowlog.rows), n)
    return added
