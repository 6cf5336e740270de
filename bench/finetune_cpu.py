"""Fine-tune the packaged Gemma 3 270M with LoRA on the CPU, then compare it with the same model's
few-shot guesses on the corpus validation split (issue 17, item 4).

1. ``finetune``: ``--train-rows`` rows sampled (seeded) from the corpus train split, short token budgets,
   one epoch; the adapter, its loss curve and ``finetune.json`` land in ``--out``. Rerun with the same
   flags and a killed run resumes from its checkpoint.
2. The ``finetuned`` member (adapter folded in, ``transformers`` backend) predicts ``--predict-rows``
   rows sampled (seeded) from the validation split; the ``fewshot`` member (the same model through
   llama.cpp, 3 nearest shots, prefix "Improve this text by") predicts the same rows.
3. Both are scored with the MiniLM proxy (mean SCS, bootstrap 95% CI), with their copy rate: the share of
   answers whose first words (up to 5, at least 3) appear verbatim in the original or the rewritten text.

Needs no ../shared (data/corpus only). Runs for about 40 minutes on a busy 2-core machine:

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python bench/finetune_cpu.py --out /tmp/ft-cpu
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from prompt_recovery.data import read_labelled_files
from prompt_recovery.embed import load_embedder
from prompt_recovery.finetune import FinetuneConfig, finetune
from prompt_recovery.finetune.model import AdapterLLM, read_meta
from prompt_recovery.metric import summarize
from prompt_recovery.predictors.base import Features
from prompt_recovery.predictors.fewshot import FewShot
from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig
from prompt_recovery.scoring import score_prompts

ROOT = Path(__file__).resolve().parents[1]
CORPUS, SPLITS = ROOT / "data" / "corpus" / "corpus.csv", ROOT / "data" / "corpus" / "splits.csv"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def copies(answer: str, original: str, rewritten: str, prefix: str = "") -> bool:
    """True when the answer's first words (up to 5, at least 3) appear in a row's text, in order."""
    if prefix and answer.lower().startswith(prefix.lower()):
        answer = answer[len(prefix) :]
    head = words(answer)[:5]
    if len(head) < 3:
        return False
    needle = " ".join(head)
    return any(needle in " ".join(words(text)) for text in (original, rewritten))


def report(name: str, preds: list[str], rows: pd.DataFrame, embedder, prefix: str = "") -> dict:
    scores = score_prompts(embedder, preds, list(rows["rewrite_prompt"]))
    s = summarize(scores)
    copy = np.mean(
        [copies(p, o, r, prefix) for p, o, r in zip(preds, rows["original_text"], rows["rewritten_text"], strict=True)]
    )
    blank = sum(not p.strip() for p in preds)
    return {
        "predictor": name,
        "mean": s.mean,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "n": s.n,
        "copy_rate": float(copy),
        "blank": blank,
    }


def print_table(table: list[dict], last: str = "seconds") -> None:
    """``report`` rows as a markdown table; the last column is each row's ``last`` entry."""
    print(f"| predictor | rows | mean SCS (MiniLM) | 95% CI | copy rate | {last} |")
    print("|---|---|---|---|---|---|")
    for r in table:
        ci = f"{r['ci_low']:.4f}-{r['ci_high']:.4f}"
        print(f"| {r['predictor']} | {r['n']} | {r['mean']:.4f} | {ci} | {r['copy_rate']:.0%} | {r[last]} |")


def fewshot(train: pd.DataFrame, valid: pd.DataFrame, features: Features, embedder) -> tuple[list[str], dict]:
    """The same packaged model's few-shot guesses (llama.cpp, 3 nearest shots) and their report row."""
    shots = FewShot()
    shots.fit(Features.of(train, embedder), None)  # type: ignore[arg-type]
    start = time.perf_counter()
    guessed = shots.predict(features, None)  # type: ignore[arg-type]
    seconds = round(time.perf_counter() - start, 1)
    row = report("fewshot (same model, llama.cpp, 3 shots)", guessed, valid, embedder, shots.config.prefix)
    return guessed, row | {"seconds": seconds}


def fewshot_only(args: argparse.Namespace, train: pd.DataFrame, valid: pd.DataFrame) -> None:
    """Add the few-shot column to an earlier run's ``predictions.csv`` (same rows, checked by id)."""
    path = args.out / "predictions.csv"
    out = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(out["id"]) != list(valid["id"]):
        raise SystemExit(
            f"{path}: its rows are not this run's {len(valid)} validation rows; rerun without --reuse-finetuned"
        )
    embedder = load_embedder("minilm")
    guessed, row = fewshot(train, valid, Features.of(valid, embedder), embedder)
    out["fewshot"] = guessed
    tmp = path.with_suffix(".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    print(f"fewshot: {row['n']} rows in {row['seconds']} s, mean SCS {row['mean']:.4f}; written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ft-cpu"))
    parser.add_argument("--train-rows", type=int, default=200)
    parser.add_argument("--predict-rows", type=int, default=80)
    parser.add_argument("--max-text-tokens", type=int, default=48)
    parser.add_argument("--max-answer-tokens", type=int, default=32)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--skip-fewshot", action="store_true")
    parser.add_argument(
        "--reuse-finetuned",
        action="store_true",
        help="take the fine-tuned guesses from --out/predictions.csv (an earlier run cut short in the few-shot "
        "part) instead of training and generating again",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    train = read_labelled_files([CORPUS], [SPLITS], "train")
    valid = read_labelled_files([CORPUS], [SPLITS], "validation")
    valid = valid.sample(n=min(args.predict_rows, len(valid)), random_state=0).sort_index().reset_index(drop=True)
    config = FinetuneConfig(
        base="embedded",
        rank=args.rank,
        alpha=2.0 * args.rank,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_rows=args.train_rows,
        max_text_tokens=args.max_text_tokens,
        max_answer_tokens=args.max_answer_tokens,
        device="cpu",
        save_every=5,
    )
    adapter = args.out / "adapter"
    if args.reuse_finetuned:
        fewshot_only(args, train, valid)
        return
    start = time.perf_counter()
    result = finetune(train, config, adapter, show_progress=True)
    train_s = time.perf_counter() - start
    meta = read_meta(adapter)
    print(
        f"trained {result.steps} steps on {result.rows} rows: {train_s:.0f} s this call "
        f"({meta['seconds']} s recorded), loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}",
        flush=True,
    )

    embedder = load_embedder("minilm")
    features = Features.of(valid, embedder)
    member = Finetuned(FinetunedConfig(adapter=str(adapter)))
    member.meta = meta
    member.llm = AdapterLLM(result.model.merge_and_unload(), result.tokenizer)  # the trained model, no reload
    start = time.perf_counter()
    tuned = member.predict(features, None)  # type: ignore[arg-type]  # the member reads no context
    tuned_s = time.perf_counter() - start
    print(f"fine-tuned guesses: {len(valid)} rows in {tuned_s:.0f} s", flush=True)
    table = [report("finetuned (LoRA, this run)", tuned, valid, embedder) | {"seconds": round(tuned_s, 1)}]
    out = valid[["id", "rewrite_prompt"]].assign(finetuned=tuned)
    out.to_csv(args.out / "predictions.csv", index=False)  # kept if the few-shot part is cut short

    if not args.skip_fewshot:
        guessed, row = fewshot(train, valid, features, embedder)
        table.append(row)
        out["fewshot"] = guessed
    out.to_csv(args.out / "predictions.csv", index=False)
    summary = {
        "train_seconds": meta["seconds"],
        "steps": meta["steps"],
        "rows": meta["rows"],
        "first_loss": meta["first_loss"],
        "last_loss": meta["last_loss"],
        "table": table,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print_table(table)
    for example in out.head(8).itertuples():
        print(f"- truth: {example.rewrite_prompt!r}\n  tuned: {example.finetuned!r}")


if __name__ == "__main__":
    main()
