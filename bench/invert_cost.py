"""Cost and quality of inversion settings, side by side on one trained model's predicted vectors.

Loads a model folder (``train --out``), predicts the vectors of its best vector member (the blend by
default) once for labelled rows, then inverts them under each setting and prints seconds, strings
encoded exactly, and string SCS with a 95% CI (MiniLM proxy). Settings are ``InvertConfig`` fields
written ``key=value,key=value`` (``true``/``false``/``none`` as such); the member's own setting is the
first row. A warm-started setting is offered the model's mean prompt, as the pipeline does.

    .venv/bin/python bench/invert_cost.py --model MODEL --rows data/corpus/corpus.csv \\
        --split-file data/corpus/splits.csv --split validation \\
        "join_trials=4" "join_trials=4,steps=6" "join_trials=4,top_k=6"
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from prompt_recovery.data import read_labelled_files
from prompt_recovery.metric import summarize
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Features, VectorPredictor
from prompt_recovery.predictors.invert import invert
from prompt_recovery.scoring import score_prompts


def parse(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(",")):
        key, value = part.split("=")
        if value in ("none", "true", "false"):
            out[key] = {"none": None, "true": True, "false": False}[value]
        else:
            out[key] = float(value) if "." in value else int(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", required=True)
    parser.add_argument("--split-file")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--member", default="blend")
    parser.add_argument("--limit", type=int)
    parser.add_argument("settings", nargs="*")
    args = parser.parse_args()
    pipeline = Pipeline.load(args.model)
    rows = read_labelled_files([args.rows], [args.split_file] if args.split_file else (), args.split)
    rows = rows.head(args.limit) if args.limit else rows
    member = pipeline.members[args.member]
    assert isinstance(member, VectorPredictor)
    emb, ctx = pipeline.embedder, pipeline.context
    vectors = member.predict_vectors(Features.of(rows, emb), ctx)
    truths = list(rows["rewrite_prompt"])
    counted = {"n": 0}
    encode_ids = emb.encode_ids

    def counting(batch, batch_size=None):
        counted["n"] += len(batch)
        return encode_ids(batch, batch_size)

    emb.encode_ids = counting  # type: ignore[method-assign]
    print(f"{len(rows)} rows, member {args.member}, base setting {member.invert_config}")
    print("| setting | seconds | strings encoded | SCS | 95% CI |")
    print("|---|---|---|---|---|")
    for text in ["", *args.settings]:
        config = replace(member.invert_config, **parse(text))
        counted["n"] = 0
        t0 = time.perf_counter()
        extra = [[pipeline.mean_prompt]] * len(rows) if config.warm_start else None  # as the pipeline offers
        out = invert(emb, vectors, ctx.bank, config, extra)
        seconds = time.perf_counter() - t0
        n = counted["n"]
        s = summarize(score_prompts(emb, out, truths))
        print(f"| {text or 'member default'} | {seconds:.0f} | {n:,} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} |")


if __name__ == "__main__":
    main()
