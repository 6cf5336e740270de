"""GPU recipe (issue 17, item 5): LoRA fine-tune a 7B instruct model on the corpus train split plus the
public triples, then print the same table as ``bench/finetune_cpu.py`` on the corpus validation split.

NOT RUN YET: written without a GPU. Expect on one 80 GB GPU (bf16, rank 16, 512-token texts, gradient
checkpointing) about 13k rows per epoch; time it on your card and record the numbers with the command.

Rows: ``data/corpus`` train split (1,847) + ``../shared/data/external/combined_triples.csv`` (StyleRec
and the GPT-3.5 triples, 11,273; development data without a licence, read at run time, never copied).
Scored: the 435-row corpus validation split (or ``--predict-rows``), MiniLM proxy, bootstrap 95% CI.
Rows of the table: the fine-tuned adapter; the same base model's few-shot guesses (3 nearest shots,
prefix "Improve this text by", completion template through ``transformers`` on the GPU); and, with
``--blend``, the default pipeline trained on the corpus train split (``prompt-recovery train`` +
``predict``, CPU).

    python scripts/finetune_gpu.py --base /models/Mistral-7B-Instruct-v0.3 --out runs/mistral-lora [--blend]

The adapter in ``--out/adapter`` serves with vLLM (``--enable-lora --lora-modules recover=OUT/adapter``)
or, merged (``prompt-recovery finetune ... --merge``), with any OpenAI-compatible server.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from finetune_cpu import print_table, report  # noqa: E402  (bench/ is not a package)

from prompt_recovery.data import read_labelled_files  # noqa: E402
from prompt_recovery.embed import load_embedder  # noqa: E402
from prompt_recovery.finetune import FinetuneConfig, finetune  # noqa: E402
from prompt_recovery.llm.hf import TransformersLLM  # noqa: E402
from prompt_recovery.predictors.base import Features  # noqa: E402
from prompt_recovery.predictors.fewshot import FewShot  # noqa: E402
from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig  # noqa: E402

CORPUS, SPLITS = ROOT / "data" / "corpus" / "corpus.csv", ROOT / "data" / "corpus" / "splits.csv"
PUBLIC = ROOT.parent / "shared" / "data" / "external" / "combined_triples.csv"


def public_rows(path: Path) -> pd.DataFrame:
    if not path.exists():
        sys.exit(f"{path}: not found. Pass --public FILE (or --no-public to train on the corpus only).")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[(df.original_text.str.strip() != "") & (df.rewritten_text.str.strip() != "") & (df.rewrite_prompt != "")]
    return pd.DataFrame(
        {
            "id": [f"public-{i}" for i in range(len(df))],
            "original_text": df.original_text.to_numpy(),
            "rewritten_text": df.rewritten_text.to_numpy(),
            "rewrite_prompt": df.rewrite_prompt.to_numpy(),
        }
    )


def blend_predictions(valid: pd.DataFrame, out: Path) -> list[str]:
    """The default pipeline, trained on the corpus train split, predicting ``valid`` (through the CLI)."""
    cli = [sys.executable, "-m", "prompt_recovery"]
    model = out / "blend-model"
    if not model.exists():
        subprocess.run([*cli, "train", str(CORPUS), "--split-file", str(SPLITS), "--out", str(model)], check=True)
    rows, preds = out / "valid.csv", out / "blend.csv"
    valid[["id", "original_text", "rewritten_text"]].to_csv(rows, index=False)
    subprocess.run([*cli, "predict", str(rows), "--model", str(model), "-o", str(preds)], check=True)
    by_id = pd.read_csv(preds, dtype=str, keep_default_na=False).set_index("id")["rewrite_prompt"]
    return [str(by_id[i]) for i in valid["id"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="Local folder of a 7B instruct model (transformers format).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--public", type=Path, default=PUBLIC)
    parser.add_argument("--no-public", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-text-tokens", type=int, default=512)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--predict-rows", type=int, default=None)
    parser.add_argument("--blend", action="store_true", help="Also train and score the default pipeline (CPU).")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    train = read_labelled_files([CORPUS], [SPLITS], "train")
    if not args.no_public:
        train = pd.concat([train, public_rows(args.public)], ignore_index=True)
    valid = read_labelled_files([CORPUS], [SPLITS], "validation")
    if args.predict_rows:
        valid = valid.sample(n=args.predict_rows, random_state=0).sort_index().reset_index(drop=True)
    config = FinetuneConfig(
        base=args.base,
        rank=args.rank,
        alpha=2.0 * args.rank,
        dropout=0.05,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_rows=args.max_rows,
        max_text_tokens=args.max_text_tokens,
        max_answer_tokens=64,
        device="cuda",
        gradient_checkpointing=True,
        save_every=100,
    )
    adapter = args.out / "adapter"
    result = finetune(train, config, adapter, show_progress=True)
    print(f"trained {result.steps} steps on {result.rows} rows in {result.seconds:.0f} s", flush=True)
    del result  # free the GPU for generation

    embedder = load_embedder("minilm")
    features = Features.of(valid, embedder)
    table = []
    start = time.perf_counter()
    tuned = Finetuned(FinetunedConfig(adapter=str(adapter), device="cuda", max_tokens=48))
    preds = tuned.predict(features, None)  # type: ignore[arg-type]  # the member reads no context
    table.append(report("finetuned (LoRA)", preds, valid, embedder) | {"seconds": round(time.perf_counter() - start)})
    out = valid[["id", "rewrite_prompt"]].assign(finetuned=preds)
    tuned.llm = None

    shots = FewShot()
    shots.fit(Features.of(train.sample(n=min(len(train), 2000), random_state=0), embedder), None)  # type: ignore[arg-type]
    shots.llm = TransformersLLM(args.base, device="cuda", chat=False)
    start = time.perf_counter()
    guessed = shots.predict(features, None)  # type: ignore[arg-type]
    row = report("fewshot (same base, 3 shots)", guessed, valid, embedder, shots.config.prefix)
    table.append(row | {"seconds": round(time.perf_counter() - start)})
    out["fewshot"] = guessed
    if args.blend:
        start = time.perf_counter()
        blend = blend_predictions(valid, args.out)
        table.append(
            report("default blend (corpus train)", blend, valid, embedder)
            | {"seconds": round(time.perf_counter() - start)}
        )
        out["blend"] = blend
    out.to_csv(args.out / "predictions.csv", index=False)
    (args.out / "summary.json").write_text(json.dumps(table, indent=2))
    print_table(table)


if __name__ == "__main__":
    main()
