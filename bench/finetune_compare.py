"""The fine-tuned model's guesses next to the blends, on the same corpus validation rows (issue 17).

Reads ``finetune_cpu.py``'s ``predictions.csv`` (80 validation rows: the truth, the fine-tuned guesses
and, when that part finished, the few-shot guesses) and ``cross_source.py``'s predictions on 200
validation rows drawn with the same seed (so the 80 are among them) from a corpus-trained pipeline, and
scores every column on the shared rows (MiniLM proxy, mean SCS with a 95% CI, and the copy rate of
``finetune_cpu.copies``).

    .venv/bin/python bench/finetune_compare.py --finetune /tmp/ft-cpu --cross /tmp/cross
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from cross_source import CACHE, held_out, sources
from finetune_cpu import print_table, report

from prompt_recovery.embed import load_embedder

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"today:blend": "blend (defaults before issue 18)", "default:blend": "blend (defaults now)"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--finetune", type=Path, required=True, help="finetune_cpu.py's --out folder")
    ap.add_argument("--cross", type=Path, required=True, help="cross_source.py's --out folder")
    args = ap.parse_args()
    tuned = pd.read_csv(args.finetune / "predictions.csv", dtype=str, keep_default_na=False)
    held = held_out(sources(3000)["corpus"][1], 200)  # the rows cross_source.py scored
    paths = [args.cross / f"corpus--{v}--corpus.csv" for v in ("today", "default")]
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths if p.exists()]
    cross = pd.concat([held, *frames], axis=1)
    # the truth and the texts identify a row; a prompt may repeat, so match on the pair
    corpus = pd.read_csv(ROOT / "data/corpus/corpus.csv", dtype=str, keep_default_na=False)
    tuned = tuned.merge(corpus[["id", "original_text", "rewritten_text"]], on="id")
    rows = tuned.merge(cross, on=["original_text", "rewritten_text", "rewrite_prompt"])
    print(f"{len(rows)} of {len(tuned)} fine-tuned rows are among the {len(held)} cross-source rows")
    embedder = load_embedder("minilm", cache_dir=CACHE)
    table = [report("finetuned (LoRA, Gemma 3 270M)", list(rows["finetuned"]), rows, embedder)]
    if "fewshot" in rows:
        prefix = "Improve this text by"
        table.append(report("fewshot (same model, 3 shots)", list(rows["fewshot"]), rows, embedder, prefix))
    table += [report(name, list(rows[column]), rows, embedder) for column, name in COLUMNS.items() if column in rows]
    print_table(table, last="blank")


if __name__ == "__main__":
    main()
