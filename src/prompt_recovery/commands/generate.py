"""``prompt-recovery generate``: synthetic (original, prompt, rewrite) triples; ``generate prompts``: new prompts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import app, show_progress, user_errors
from prompt_recovery.commands._engine import AddressOpt, EngineOpt, WorkersOpt
from prompt_recovery.commands._help import App
from prompt_recovery.commands._llm import (
    BaseUrlOpt,
    ConcurrencyOpt,
    LLMOpt,
    ModelNameOpt,
    TemplateOpt,
    TimeoutOpt,
)
from prompt_recovery.engines import Engine
from prompt_recovery.errors import DataError
from prompt_recovery.progress import tqdm

generate_app = App(no_args_is_help=False, help="Generate synthetic data with an LLM.")
app.add_typer(generate_app, name="generate")

OutOpt = Annotated[Path, typer.Option("-o", "--out", help="Output .jsonl or .csv; a rerun resumes it.")]
SeedOpt = Annotated[int, typer.Option(help="Seed for the sampled pairs and the model.")]
MaxTokensOpt = Annotated[int, typer.Option(min=1, help="Most tokens per answer.")]
TemperatureOpt = Annotated[float, typer.Option(min=0.0, help="Sampling temperature; 0 is greedy.")]


@generate_app.callback(invoke_without_command=True)
def generate(
    ctx: typer.Context,
    originals: Annotated[
        Path | None, typer.Option(help="Original texts: .txt (one per line), .json list, or a table.")
    ] = None,
    prompts: Annotated[Path | None, typer.Option(help="Prompt bank: .txt, .json list, or a table.")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Rows to produce (in all, counting rows already in --out).")] = 20,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Output .jsonl or .csv; a rerun resumes it.")] = None,
    originals_column: Annotated[str, typer.Option(help="Column of --originals when it is a table.")] = "original_text",
    prompts_column: Annotated[str, typer.Option(help="Column of --prompts when it is a table.")] = "rewrite_prompt",
    llm: LLMOpt = "embedded",
    model: ModelNameOpt = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL[,URL...]",
            help="OpenAI-compatible server(s), e.g. http://127.0.0.1:8080/v1 ($PROMPT_RECOVERY_BASE_URL); with "
            "--engine ray, several comma-separated servers are shared out among the workers.",
        ),
    ] = None,
    template: TemplateOpt = "auto",
    concurrency: ConcurrencyOpt = None,
    timeout: TimeoutOpt = 120.0,
    max_tokens: MaxTokensOpt = 384,
    temperature: TemperatureOpt = 0.0,
    seed: SeedOpt = 0,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Have an LLM rewrite original texts by sampled prompts: labelled rows to train on.

    Samples N distinct (original, prompt) pairs with --seed and appends every finished row to --out. Killed
    and rerun with the same flags, it resumes: no duplicate, no lost row. Columns: id, original_text,
    rewrite_prompt, rewritten_text, finish_reason, llm (check them with check-corpus).

    Examples:

        prompt-recovery generate --originals texts.txt --prompts data/corpus/corpus.csv -n 100 --out triples.jsonl
        prompt-recovery generate --llm openai --base-url URL --originals texts.txt --prompts p.txt --out t.jsonl
        prompt-recovery generate --llm openai --base-url URL ... --out t.jsonl --engine ray --address auto
    """
    if ctx.invoked_subcommand is not None:
        return
    from prompt_recovery.data import read_texts
    from prompt_recovery.generate import REWRITE_COLUMNS, generate_rewrites, plan_pairs
    from prompt_recovery.guard import check_outputs
    from prompt_recovery.llm import GenerationConfig, llm_from_options
    from prompt_recovery.rowlog import RowLog

    missing = [
        flag for flag, value in (("--originals", originals), ("--prompts", prompts), ("--out", out)) if not value
    ]
    if missing:
        typer.echo(f"error: missing {', '.join(missing)} (see prompt-recovery generate --help)", err=True)
        raise typer.Exit(2)
    assert originals and prompts and out
    urls = [u.strip() for u in base_url.split(",") if u.strip()] if base_url else []
    with user_errors():
        if len(urls) > 1 and engine is not Engine.ray:
            raise DataError(f"--base-url names {len(urls)} servers; several servers need --engine ray. Fix: give one.")
        base_url = urls[0] if urls else base_url
        check_outputs([("--out", out)], [originals, prompts], _local(model))
        RowLog.check_suffix(out)
        texts = read_texts(originals, originals_column, "original texts", "--originals-column")
        bank = read_texts(prompts, prompts_column, "prompts", "--prompts-column")
        jobs = plan_pairs(texts, bank, n, seed)
        config = GenerationConfig(max_tokens=max_tokens, temperature=temperature, seed=seed)
        with llm_from_options(llm, model, base_url, template, concurrency, timeout) as backend:
            meta = {"job": "generate", "llm": backend.identity(), **_settings(config)}
            rowlog = RowLog(out, REWRITE_COLUMNS, meta=meta)
            left = sum(job.id not in rowlog.done for job in jobs)
            if left == 0:
                typer.echo(f"{out} already holds all {n} rows")
                return
            with tqdm(total=n, initial=n - left, desc="Generating", unit="row", disable=not show_progress()) as bar:
                if engine is Engine.ray:  # every worker calls the server(s) itself; this process logs the rows
                    from prompt_recovery.engines.ray import generate_ray

                    options = dict(llm=llm, model=model, base_url=urls or base_url, template=template,
                                   concurrency=concurrency, timeout=timeout)  # fmt: skip
                    on = dict(address=address, workers=workers, progress=bar.update)
                    result = generate_ray(options, jobs, rowlog, config, **on)
                else:
                    result = generate_rewrites(backend, jobs, rowlog, config, progress=bar.update)
    total = len(rowlog.rows)
    in_all = f"{n} in all" if total >= n else f"{total} of {n} in all"
    typer.echo(f"wrote {result.written} rows ({in_all}) to {out}")
    if result.refused:
        reasons = Counter(result.refused.values())
        ids = list(result.refused)
        typer.echo(
            f"error: {len(ids)} row(s) not written, their answers were not rewrites: "
            + "; ".join(f"{count} {reason}" for reason, count in reasons.most_common())
            + f" (ids {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}). A rerun of the same command asks "
            "again for these rows only. Fix: " + _refusal_fix(reasons, template),
            err=True,
        )
        raise typer.Exit(1)


def _local(model: str | None) -> list[Path]:
    """The model the LLM reads when ``--model`` names a local folder or file (outputs stay out of it)."""
    return [Path(model)] if model and Path(model).expanduser().exists() else []


def _settings(config: object) -> dict[str, object]:
    """The generation settings a resumed output file must share with the run that started it."""
    return {k: getattr(config, k) for k in ("max_tokens", "temperature", "seed")}


def _refusal_fix(reasons: Counter[str], template: str) -> str:
    if any(reason.startswith("chat-template token") for reason in reasons):
        if template != "completion":
            return (
                "the model answered with chat-template tokens: it looks like a base model behind the server, "
                "so use --template completion (or serve an instruction-tuned model)."
            )
        return "the model answered with chat-template tokens: serve it with its chat template (--template chat)."
    return "a model that copies its input needs --temperature above 0, another --template, or a stronger model."


@generate_app.command("prompts")
def generate_prompts_command(
    bank: Annotated[Path, typer.Option(help="Example prompts: .txt, .json list, or a table.")],
    out: OutOpt,
    n: Annotated[int, typer.Option("-n", min=1, help="New prompts to produce (in all).")] = 20,
    column: Annotated[str, typer.Option(help="Column of --bank when it is a table.")] = "rewrite_prompt",
    shots: Annotated[int, typer.Option(min=1, help="Bank prompts shown per request.")] = 8,
    llm: LLMOpt = "embedded",
    model: ModelNameOpt = None,
    base_url: BaseUrlOpt = None,
    template: TemplateOpt = "auto",
    concurrency: ConcurrencyOpt = None,
    timeout: TimeoutOpt = 120.0,
    max_tokens: MaxTokensOpt = 48,
    temperature: TemperatureOpt = 0.9,
    seed: SeedOpt = 0,
) -> None:
    """Invent new rewrite prompts in the style of a bank (few-shot).

    Prompts already in the bank or the output are skipped. Resumable like generate. Columns: id,
    rewrite_prompt, llm.

    Example:

        prompt-recovery generate prompts --bank data/corpus/corpus.csv -n 50 --out prompts.jsonl
    """
    from prompt_recovery.data import read_texts
    from prompt_recovery.generate import PROMPT_COLUMNS, generate_prompts
    from prompt_recovery.guard import check_outputs
    from prompt_recovery.llm import GenerationConfig, llm_from_options
    from prompt_recovery.rowlog import RowLog

    with user_errors():
        check_outputs([("--out", out)], [bank], _local(model))
        RowLog.check_suffix(out)
        examples = read_texts(bank, column, "prompts")
        config = GenerationConfig(max_tokens=max_tokens, temperature=temperature, seed=seed)
        with llm_from_options(llm, model, base_url, template, concurrency, timeout) as backend:
            meta = {"job": "generate prompts", "llm": backend.identity(), "shots": shots, **_settings(config)}
            rowlog = RowLog(out, PROMPT_COLUMNS, meta=meta)
            with tqdm(
                total=n, initial=min(n, len(rowlog.rows)), desc="Prompts", unit="prompt", disable=not show_progress()
            ) as bar:
                added = generate_prompts(
                    backend, examples, n, rowlog, config, seed=seed, shots=shots, progress=bar.update
                )
    typer.echo(f"added {added} prompts ({len(rowlog.rows)} in all) to {out}")
