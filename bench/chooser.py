"""The chooser (issue 27) on the cross-source table: train on one source, score on every source.

For each training source a pipeline is trained with ``--config`` (default: the library's defaults),
the chooser switched on, and saved under ``--out`` (a rerun loads it), then every held-out set of
``data.sources`` (200 rows each by default, ``data.held_out``: the same draw as ``cross_source.py``) is
predicted once, and these strings are scored side by side (MiniLM proxy, mean |cos|^3, bootstrap 95% CI):

- ``mean prompt``: the pipeline's mean prompt for every row;
- ``joined``: the members' join, what the pipeline predicted before the chooser (today's default);
- ``stage 1``: the reranker's top candidate for every row (no gate);
- ``stage 1 + gate``: the chooser's prediction (what ``predict`` writes);
- ``readable``: the best-ranked candidate a person wrote (the ``readable_prompt`` column);
- ``pool oracle``: each row's best candidate with the truth in hand: the ceiling the chooser works under.

With ``--baseline``, ``baseline`` is an earlier run's ``joined`` on the same rows. The ratio column
divides by the baseline (else ``joined``); ``captured`` is (chooser - base) / (oracle - base). Train
and predict times are printed per source (seconds; predict: per 1,300 rows at the measured rate).

At smoke size: the corpus and the demo set, ``bench/smoke.toml``, tiny sizes.

    .venv/bin/python bench/chooser.py [--out /tmp/chooser] [--train corpus gpt35] [--limit 200]
    .venv/bin/python bench/chooser.py --smoke
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from harness import CACHE, ROOT, Run, in_out_folder, start

from data import held_out, sources
from prompt_recovery.metric import summarize
from prompt_recovery.pipeline import Pipeline, PipelineConfig, train
from prompt_recovery.predictors import Features
from prompt_recovery.scoring import score_prompts

COLUMNS = ["mean prompt", "joined", "stage 1", "stage 1 + gate", "readable", "pool oracle"]
# 200 training rows: the validation share (0.2) is the 40 rows the chooser needs at the least
SMOKE = {"train": ["corpus"], "limit": 10, "train_limit": 200, "config": ROOT / "bench" / "smoke.toml"}


def model_for(source: str, rows: pd.DataFrame, config: PipelineConfig, folder: Path, log: dict) -> Pipeline:
    if (folder / "pipeline.json").exists():
        return Pipeline.load(folder, cache_dir=CACHE)
    begin = time.perf_counter()
    pipeline = train(rows, config, cache_dir=CACHE)
    seconds = time.perf_counter() - begin
    log[source] = {
        "train_s": round(seconds, 1),
        "rows": len(rows),
        "order": pipeline.order,
        "stages": {k: round(v, 1) for k, v in pipeline.timings.items()},
        "validation": pipeline.validation,
    }
    print(f"{source}: trained on {len(rows)} rows in {seconds:.0f}s, ensemble {pipeline.order}", flush=True)
    pipeline.save(folder)
    return pipeline


def strings(pipeline: Pipeline, rows: pd.DataFrame) -> pd.DataFrame:
    """One column per ``COLUMNS`` entry but the oracle, plus ``oracle``'s string, per row of ``rows``."""
    features = Features.of(rows, pipeline.embedder)
    outputs = pipeline.member_outputs(features, list(pipeline.order))
    joined = pipeline.combine(outputs, suffix=False)
    choice, pool = pipeline.choose(features, outputs, pipeline.order, joined)
    truth = pipeline.embedder.encode(list(rows["rewrite_prompt"]))
    best = [pool.texts[i][int(np.argmax(v @ truth[i]))] if len(v) else joined[i] for i, v in enumerate(pool.vectors)]
    final, _ = pipeline.finish(features, outputs, pipeline.order, joined)
    return pd.DataFrame(
        {
            "mean prompt": [pipeline.mean_prompt] * len(rows),
            "joined": joined,
            "stage 1": choice.top,
            "stage 1 + gate": final,
            "readable": choice.readable,
            "pool oracle": best,
            "option": choice.option,
        }
    )


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, help="folder for models and predictions (reused on rerun; default: temporary)"
    )
    choices = ["corpus", "stylerec", "gpt35", "demo"]
    parser.add_argument("--train", nargs="+", default=["corpus", "gpt35"], choices=choices)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--train-limit", type=int, default=None, help="the first N training rows (smoke runs)")
    parser.add_argument("--config", type=Path, help="a pipeline TOML file (default: the library's defaults)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier run's --out of this script: its 'joined' strings (the same held-out rows) are scored "
        "here as 'baseline' (e.g. the defaults before the chooser)",
    )


def main() -> None:
    run = start("chooser", __doc__.splitlines()[0], options, smoke=SMOKE)
    in_out_folder(run, measure)


def measure(run: Run, out: Path) -> None:
    args = run.args
    out.mkdir(parents=True, exist_ok=True)
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    # the chooser is what this measures: on, whatever the defaults say
    config = PipelineConfig(
        replace(config.settings, chooser=replace(config.settings.chooser, enabled=True)), config.members
    )
    data = sources(run, 3000)
    held = {name: held_out(rows, args.limit) for name, (_, rows) in data.items()}
    runs = out / "runs.json"
    log = json.loads(runs.read_text()) if runs.exists() else {}
    table, scores = [], {}
    for source in args.train:
        if source not in data:
            raise SystemExit(f"--train {source}: not a source of this run ({', '.join(data)})")
        pipeline = model_for(source, data[source][0].iloc[: args.train_limit], config, out / f"model-{source}", log)
        runs.write_text(json.dumps(log, indent=1))
        for name, rows in held.items():
            tag = f"{name} (in-source)" if name == source else name
            path = out / f"{source}--{name}.csv"
            if path.exists():
                frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            else:
                begin = time.perf_counter()
                frame = strings(pipeline, rows)
                rate = len(rows) / (time.perf_counter() - begin)
                log.setdefault(source, {}).setdefault("predict_rows_per_s", {})[tag] = round(rate, 2)
                runs.write_text(json.dumps(log, indent=1))
                frame.to_csv(path, index=False)
            truth = list(rows["rewrite_prompt"])
            columns = list(COLUMNS)
            old = None if args.baseline is None else args.baseline / path.name
            if old is not None and old.exists():
                frame["baseline"] = pd.read_csv(old, dtype=str, keep_default_na=False)["joined"]
                columns.insert(0, "baseline")
            s = {c: summarize(score_prompts(pipeline.embedder, list(frame[c]), truth)) for c in columns}
            base = "baseline" if "baseline" in s else "joined"
            j, g, o = s[base].mean, s["stage 1 + gate"].mean, s["pool oracle"].mean
            captured = f"{(g - j) / (o - j):.0%}" if o > j else ""
            cell = f"{source} → {tag}"
            table.append([cell, *(f"{s[c].mean:.4f}" for c in columns), f"{g / j:.2f}x" if j else "", captured])
            scores[cell] = {c: round(s[c].mean, 4) for c in columns}
            scores[cell]["options"] = frame["option"].value_counts().to_dict()
            heads = columns
    run.table("mean SCS (MiniLM proxy); ratio: gate / base", ["trained → scored", *heads, "ratio", "captured"], table)
    run.numbers = {"scores": scores, "trainings": log}
    run.save()


if __name__ == "__main__":
    main()
