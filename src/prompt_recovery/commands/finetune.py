"""``prompt-recovery finetune``: LoRA fine-tuning of a causal LM to answer with the rewrite prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import app, renamed, show_progress, user_errors


@app.command()
def finetune(
    labelled: Annotated[
        list[Path],
        typer.Argument(help="Files of rows with original_text, rewritten_text, rewrite_prompt (id optional)."),
    ],
    base: Annotated[
        str,
        typer.Option(
            metavar="MODEL",
            help="Base causal LM: a local Hugging Face folder, a .gguf file, or 'embedded' (Gemma 3 270M).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("-o", "--out", metavar="FOLDER", help="Folder for the adapter; a rerun resumes a killed run."),
    ],
    split_file: Annotated[
        list[Path] | None,
        typer.Option(help="CSV of id, split (e.g. data/corpus/splits.csv); repeat it for several files."),
    ] = None,
    split: Annotated[str, typer.Option(help="The split of --split-file to train on.")] = "train",
    sample: Annotated[int | None, typer.Option("--sample", help="Train on a seeded sample of this many rows.")] = None,
    max_rows: Annotated[int | None, typer.Option("--max-rows", hidden=True, help="Old name of --sample.")] = None,
    rank: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    alpha: Annotated[float, typer.Option(help="LoRA alpha (scale = alpha / rank).")] = 16.0,
    dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.05,
    target_modules: Annotated[str, typer.Option(help="'all-linear' or names, e.g. 'q_proj,v_proj'.")] = "all-linear",
    epochs: Annotated[int, typer.Option(help="Passes over the rows.")] = 1,
    learning_rate: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 2e-4,
    batch_size: Annotated[int, typer.Option(help="Rows per optimiser step.")] = 4,
    max_text_tokens: Annotated[int, typer.Option(help="Token budget of each text (the head is kept).")] = 256,
    max_answer_tokens: Annotated[int, typer.Option(help="Token budget of the answer.")] = 64,
    prefix: Annotated[str, typer.Option(help="Response prefix that starts every answer ('' for none).")] = "",
    answer: Annotated[
        str, typer.Option(help="'prompt' (learn the whole prompt) or 'change' (only what follows --prefix).")
    ] = "prompt",
    template: Annotated[
        str, typer.Option(help="auto (chat template if the model has one), chat, completion.")
    ] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    gradient_checkpointing: Annotated[
        bool, typer.Option("--gradient-checkpointing", help="Less memory, more compute.")
    ] = False,
    save_every: Annotated[int, typer.Option(help="Optimiser steps between checkpoints.")] = 20,
    seed: Annotated[int, typer.Option(help="Row sample, row order and adapter initialisation.")] = 0,
    merge: Annotated[
        bool, typer.Option("--merge", help="Also write OUT/merged: the base with the adapter folded in.")
    ] = False,
) -> None:
    """Fine-tune a LoRA adapter so that a causal LM answers with the rewrite prompt.

    The model sees the original and the rewritten text; the loss is on the answer tokens only. Writes the
    adapter, finetune.json, loss.csv and loss.png to --out. Killed and rerun with the same flags, it
    resumes from its last checkpoint. Use it with the `finetuned` pipeline member (adapter = OUT).

    Example:

        prompt-recovery finetune data/corpus/corpus.csv --base embedded --out adapter --sample 200
    """
    from prompt_recovery.data import read_labelled_files
    from prompt_recovery.finetune import FinetuneConfig, FinetuneError, merge_adapter
    from prompt_recovery.finetune import finetune as run
    from prompt_recovery.finetune.train import check_out, finished_run

    with user_errors():
        try:
            config = FinetuneConfig(
                base=base,
                rank=rank,
                alpha=alpha,
                dropout=dropout,
                target_modules=target_modules,
                epochs=epochs,
                learning_rate=learning_rate,
                batch_size=batch_size,
                seed=seed,
                max_rows=renamed(sample, max_rows, "--max-rows", "--sample"),
                max_text_tokens=max_text_tokens,
                max_answer_tokens=max_answer_tokens,
                prefix=prefix,
                answer=answer,  # type: ignore[arg-type]  # checked in __post_init__
                template=template,  # type: ignore[arg-type]
                device=device,  # type: ignore[arg-type]
                gradient_checkpointing=gradient_checkpointing,
                save_every=save_every,
            )
        except ValueError as exc:
            raise FinetuneError(str(exc)) from None
        check_out(out, config, [*labelled, *(split_file or ())])  # before any work: a file, others' folder
        rows = read_labelled_files(labelled, split_file or (), split)
        if finished_run(out, rows, config) is not None:  # made otherwise: FinetuneError naming what differs
            typer.echo(f"{out} already holds a finished adapter for these rows and flags (delete it to train again)")
        else:
            result = run(rows, config, out, show_progress=show_progress())
            resumed = f", resumed at step {result.resumed_from}" if result.resumed_from else ""
            typer.echo(
                f"trained {result.steps} steps on {result.rows} rows in {result.seconds:.0f} s{resumed}: "
                f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}; adapter in {out}"
            )
        if merge:
            typer.echo(f"merged weights in {merge_adapter(out, out / 'merged')}")
