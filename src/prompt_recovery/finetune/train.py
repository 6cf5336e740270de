"""LoRA supervised fine-tuning: a plain torch loop over a peft model, checkpointed so a killed run resumes.

One optimiser step per batch of ``batch_size`` rows (AdamW over the adapter only; linear warmup, then
linear decay). The loss is the mean cross-entropy over answer tokens only; batches are left-padded so
that logits are computed for the answer span alone (``logits_to_keep``): with a 262k vocabulary this is
most of the saving on a CPU.

Every ``save_every`` steps, ``OUT/checkpoint/`` gets the adapter, the optimiser and scheduler states
and the loss history; the same call with the same rows and config continues from there. A finished
run leaves in ``OUT``: the adapter (peft format), ``finetune.json`` (config, base, template, timings),
``loss.csv`` and ``loss.png`` (the training loss curve).

Example::

    rows = read_labelled_files(["data/corpus/corpus.csv"], ["data/corpus/splits.csv"])
    result = finetune(rows, FinetuneConfig(base="embedded", max_rows=240, max_text_tokens=96), "runs/lora")
    result.losses[0], result.losses[-1]
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prompt_recovery.fileio import write_text_atomic
from prompt_recovery.finetune.config import FinetuneConfig
from prompt_recovery.finetune.data import Example, collate, encode_rows
from prompt_recovery.finetune.model import (
    ADAPTER_FILES,
    EMBEDDED,
    META_FILE,
    META_VERSION,
    FinetuneError,
    load_base,
    read_meta,
    resolve_base,
)
from prompt_recovery.progress import tqdm

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"


@dataclass
class FinetuneResult:
    """What a run did: ``losses[i]`` is the mean answer-token loss of optimiser step ``i + 1``."""

    out: Path
    rows: int
    steps: int
    total_steps: int
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int = 0
    finished: bool = True
    chat: bool = False
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)


def select_rows(rows: pd.DataFrame, config: FinetuneConfig) -> pd.DataFrame:
    """At most ``max_rows`` rows, a seeded sample kept in file order."""
    if config.max_rows is None or len(rows) <= config.max_rows:
        return rows.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(config.seed).choice(len(rows), size=config.max_rows, replace=False))
    return rows.iloc[keep].reset_index(drop=True)


def fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.prompt, e.answer]).encode())
    return digest.hexdigest()[:16]


def rows_fingerprint(rows: pd.DataFrame) -> str:
    """sha256 (hex, 16) of the texts and prompts of ``rows``, in order: what a finished run is compared on."""
    digest = hashlib.sha256()
    for values in rows[["original_text", "rewritten_text", "rewrite_prompt"]].astype(str).itertuples(index=False):
        digest.update(json.dumps(list(values)).encode())
    return digest.hexdigest()[:16]


# Names a run writes into its --out folder; a folder holding none of them (and other files) is not ours.
OWNED = (META_FILE, CHECKPOINT, *ADAPTER_FILES, "loss.csv", "loss.png")


def check_out(out: str | Path, config: FinetuneConfig, inputs: list[str | Path] | None = None) -> Path:
    """Refuse, before any work, an ``out`` this run cannot call its own (``DataError``/``FinetuneError``).

    Refused: a file, a link, a folder of other files, one that overlaps the base model's folder or holds
    an input, and links planted at the names the run writes (``checkpoint``, ``finetune.json``, ...).
    """
    from prompt_recovery.guard import check_output_folder

    out = Path(out)
    models: list[str | Path] = []
    if config.base != EMBEDDED:
        base = resolve_base(config.base)
        if base.gguf_file:
            inputs = [*(inputs or []), base.folder / base.gguf_file]
        else:
            models.append(base.folder)
    check_output_folder(out, OWNED, "--out", inputs or (), models)
    for name in (*OWNED, f"{CHECKPOINT}.tmp", "README.md"):
        if (out / name).is_symlink():
            raise FinetuneError(
                f"--out {out}: {out / name} is a symbolic link, which this run did not create. "
                "Fix: remove it or choose a new folder"
            )
    return out


def finished_run(out: str | Path, rows: pd.DataFrame, config: FinetuneConfig) -> dict[str, Any] | None:
    """The ``finetune.json`` of a finished run in ``out`` made with these rows and settings, or None when
    there is none; ``FinetuneError`` naming what differs when the finished run was made otherwise."""
    if not (Path(out) / META_FILE).exists():
        return None
    meta = read_meta(out)
    stored = meta.get("config", {})
    want = config.training_dict()
    differ = [f"{k}: {stored.get(k)!r} there, {v!r} now" for k, v in want.items() if stored.get(k) != v]
    fingerprint = rows_fingerprint(select_rows(rows, config))
    if meta.get("rows_sha256", fingerprint) != fingerprint:
        differ.append("the training rows differ")
    if differ:
        raise FinetuneError(
            f"--out {out}: holds a finished adapter trained otherwise ({'; '.join(differ)}). "
            "Fix: rerun with the same rows and flags, pass a new --out, or delete the folder to train again"
        )
    return meta


def _honour_umask(folder: Path) -> None:
    """Give the files ``save_pretrained`` wrote the mode ``open()`` would (safetensors writes 0600)."""
    import os

    from prompt_recovery.fileio import umask

    for name in (*ADAPTER_FILES, "README.md"):
        if (folder / name).is_file() and not (folder / name).is_symlink():
            os.chmod(folder / name, 0o666 & ~umask())


def batch_order(n: int, batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Row indices of every step: each epoch a seeded permutation cut into batches (the last may be short)."""
    order = []
    for epoch in range(epochs):
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        order += [perm[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    return order


def answer_loss(model: Any, batch: dict[str, Any], keep_logits: bool) -> Any:
    """Mean cross-entropy of the answer tokens; logits only for the answer span when ``keep_logits``."""
    import torch.nn.functional as F

    span = batch["answer_span"]
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
    extra = {"logits_to_keep": span + 1} if keep_logits else {}
    logits = model(**inputs, **extra).logits[:, -(span + 1) :]
    logits = logits[:, :-1].float()  # position t predicts token t + 1: the last K tokens
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1), ignore_index=-100)


def _supports_logits_to_keep(model: Any) -> bool:
    import inspect

    return "logits_to_keep" in inspect.signature(model.forward).parameters


def _peft_model(model: Any, config: FinetuneConfig) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    targets: str | list[str] = config.target_modules
    if targets != "all-linear":
        targets = [t.strip() for t in config.target_modules.split(",") if t.strip()]
    torch.manual_seed(config.seed)
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,  # type: ignore[arg-type]  # peft scales by alpha / r
        lora_dropout=config.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    try:
        peft_model = get_peft_model(model, lora)
    except ValueError as exc:
        raise FinetuneError(f"LoRA could not wrap the model ({exc}). Fix: check --target-modules") from None
    if config.gradient_checkpointing:
        peft_model.gradient_checkpointing_enable()
        peft_model.enable_input_require_grads()
    return peft_model


def _save_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any]) -> None:
    import torch

    tmp = out / f"{CHECKPOINT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    trainer = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state()}
    torch.save(trainer, tmp / "trainer.pt")
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    final = out / CHECKPOINT
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def _load_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any, expect: dict[str, Any]) -> dict[str, Any]:
    """The saved state (and the weights and optimiser restored), or ``{}`` when there is no checkpoint."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = out / CHECKPOINT
    if not (folder / "state.json").exists():
        return {}
    state: dict[str, Any] = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    for key in ("config", "data"):
        if state.get(key) != expect[key]:
            raise FinetuneError(
                f"{folder}: a checkpoint of another run (its {key} differs). "
                f"Fix: rerun with the same rows and flags, pass another --out, or delete {folder}"
            )
    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))
    saved = torch.load(folder / "trainer.pt", weights_only=True)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])  # dropout masks continue as in an unbroken run
    return state


def save_loss_curve(out: Path, losses: list[float], steps_per_epoch: int) -> None:
    """``loss.csv`` (step, epoch, loss) and ``loss.png`` beside the adapter."""
    steps = np.arange(1, len(losses) + 1)
    pd.DataFrame({"step": steps, "epoch": (steps - 1) // steps_per_epoch + 1, "loss": losses}).to_csv(
        out / "loss.csv", index=False
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, lw=1, alpha=0.5, label="step")
    if len(losses) >= 5:
        window = max(2, len(losses) // 10)
        smooth = pd.Series(losses).rolling(window, min_periods=1).mean()
        ax.plot(steps, smooth, lw=2, label=f"mean of {window}")
    ax.set(xlabel="optimiser step", ylabel="answer-token loss", title="LoRA fine-tuning")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)


def finetune(
    rows: pd.DataFrame,
    config: FinetuneConfig,
    out: str | Path,
    *,
    show_progress: bool = False,
    stop_after: int | None = None,
) -> FinetuneResult:
    """Fine-tune ``config.base`` with LoRA on labelled ``rows``; write the adapter to ``out``.

    ``stop_after``: stop (with a checkpoint) after this many steps in all, as a kill would (tests, time caps).
    The returned result holds the trained peft model and tokenizer for immediate use.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    start = time.perf_counter()
    out = check_out(out, config)
    rows = select_rows(rows, config)
    if len(rows) == 0:
        from prompt_recovery.errors import DataError

        raise DataError("no training rows. Fix: pass labelled files with rows (check --split and --max-rows)")
    if (out / META_FILE).exists():
        finished_run(out, rows, config)  # a finished run made otherwise: refused, never overwritten
    device = config.resolved_device()
    if device == "cuda" and not torch.cuda.is_available():
        raise FinetuneError("device 'cuda' but torch sees no GPU. Fix: --device cpu (or auto)")
    model, tokenizer, base = load_base(config.base, device=device, show_progress=show_progress)
    examples, chat = encode_rows(rows, tokenizer, config)
    order = batch_order(len(examples), config.batch_size, config.epochs, config.seed)
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    model = _peft_model(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * len(order)), len(order))
    expect = {"config": config.training_dict(), "data": fingerprint(examples)}
    out.mkdir(parents=True, exist_ok=True)
    state = _load_checkpoint(out, model, optimizer, scheduler, expect)
    losses: list[float] = list(state.get("losses", []))
    done = len(losses)
    if done:
        log.info("resuming %s from step %d of %d", out, done, len(order))
    keep_logits = _supports_logits_to_keep(model.get_base_model())
    pad = tokenizer.pad_token_id
    last = len(order) if stop_after is None else min(len(order), stop_after)
    model.train()
    with tqdm(total=len(order), initial=done, desc="Fine-tuning", unit="step", disable=not show_progress) as bar:
        for step in range(done, last):
            batch = collate([examples[i] for i in order[step]], pad)
            batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
            loss = answer_loss(model, batch, keep_logits)
            if not torch.isfinite(loss):
                raise FinetuneError(f"loss is {loss.item()} at step {step + 1}. Fix: lower --learning-rate")
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.item()))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            if (step + 1) % config.save_every == 0 or step + 1 == last:
                _save_checkpoint(out, model, optimizer, scheduler, {**expect, "losses": losses})
    model.eval()
    seconds = time.perf_counter() - start
    finished = len(losses) == len(order)
    result = FinetuneResult(
        out, len(examples), len(losses), len(order), losses, seconds, done, finished, chat, model, tokenizer
    )
    if not finished:
        return result
    facts = {"base": base.describe(), "chat": chat, "rows": len(examples), "rows_sha256": rows_fingerprint(rows)}
    _save_finished(out, model, config, facts, losses, steps_per_epoch, seconds, done, device)
    return result


def _save_finished(
    out: Path,
    model: Any,
    config: FinetuneConfig,
    facts: dict[str, Any],
    losses: list[float],
    steps_per_epoch: int,
    seconds: float,
    resumed_from: int,
    device: str,
) -> None:
    """A finished run's files: the adapter (with the umask's modes), the loss curve, then ``finetune.json``
    (the record a rerun is compared with), and the checkpoint removed."""
    model.save_pretrained(out)
    _honour_umask(out)
    save_loss_curve(out, losses, steps_per_epoch)
    meta = {
        "format_version": META_VERSION,
        "config": config.as_dict(),
        **facts,
        "steps": len(losses),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "seconds": round(seconds, 1),
        "resumed_from": resumed_from,
        "device": device,
    }
    write_text_atomic(out / META_FILE, json.dumps(meta, indent=2))
    shutil.rmtree(out / CHECKPOINT, ignore_errors=True)
