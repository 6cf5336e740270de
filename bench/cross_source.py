"""Cross-source quality (issue 18): train on one source, score on rewrites written by other hands.

In-source validation flatters: a split written by the same hands as the training rows rewards methods
that stay close to the training prompts. Here every trained pipeline is scored on the held-out rows of
every source, and the table marks which cells are cross-source.

Sources (``../shared/data/external`` for the last two):

- ``corpus``: the shipped corpus, trained on its train split (1,847 rows), held out: its validation split;
- ``stylerec``: StyleRec (33 templated prompts, single sentences), trained on ``--train-rows`` rows drawn
  (seeded) from its train file, held out: its test file;
- ``gpt35``: the GPT-3.5 triples (alexsaavedraa), shuffled (seed 0), trained on 80%, held out: the other 20%
  (the split of ``bench/quality.py --source public``).

Each held-out set is capped at ``--limit`` rows drawn (seeded, ``data.held_out``). Predictors, each
trained on the training source (MiniLM proxy, mean SCS of the strings with a bootstrap 95% CI):

- ``free:osyuksel``, ``free:source``, ``free:source+osyuksel``: training-free retrieval
  (``pipeline.training_free``: the bank's nearest prompts by edit direction, averaged, inverted, joined
  with the bank's medoid; what ``predict --bank`` writes), over the packaged osyuksel bank, the training
  source's prompts, and both;
- ``default:<member>`` and ``default:ensemble``: every member of the pipeline ``--config`` (default: the
  library's defaults) and what ``train`` writes.

Predictions are written to ``--out`` as they finish (one CSV per training source, predictor and held-out
set), and a rerun with the same ``--out`` reuses them, so a killed run continues (use a fresh ``--out``
after a code change). At smoke size the sources are the corpus and the shipped demo set, the osyuksel bank
is cut to ``--bank-limit`` prompts and the pipeline is ``bench/smoke.toml``.

    .venv/bin/python bench/cross_source.py [--out /tmp/cross] [--train corpus gpt35] [--limit 200]
    .venv/bin/python bench/cross_source.py --smoke
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from harness import CACHE, ROOT, Run, in_out_folder, start

from data import held_out, sources
from prompt_recovery import banks
from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import summarize
from prompt_recovery.pipeline import Pipeline, PipelineConfig, train, training_free
from prompt_recovery.scoring import score_prompts

SMOKE = {
    "train": ["corpus"],
    "limit": 10,
    "train_limit": 100,
    "bank_limit": 300,
    "config": ROOT / "bench" / "smoke.toml",
}


def cells(
    paths: dict[str, Path], held: dict[str, pd.DataFrame], build: Callable[[], Pipeline], prefix: str
) -> dict[str, pd.DataFrame]:
    """Predictions (``predictions``' columns) for every held-out set: read back from ``paths`` when an
    earlier run wrote them; otherwise ``build`` runs once, when the first missing set needs it, and each
    missing set is predicted and written atomically."""
    out: dict[str, pd.DataFrame] = {}
    pipeline: Pipeline | None = None
    for h, path in paths.items():
        if path.exists():
            out[h] = pd.read_csv(path, dtype=str, keep_default_na=False)
            continue
        pipeline = pipeline or build()
        begin = time.perf_counter()
        out[h] = predictions(pipeline, held[h], prefix)
        print(f"  {prefix}: predicted {len(held[h])} {h} rows in {time.perf_counter() - begin:.0f}s", flush=True)
        tmp = path.with_suffix(".tmp")
        out[h].to_csv(tmp, index=False)
        tmp.replace(path)
    return out


def predictions(pipeline: Pipeline, rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """One column per member (``prefix``-named) and ``prefix:ensemble``, one row per held-out row."""
    ensemble, outputs = pipeline.predict(rows, every_member=True)
    frame = pd.DataFrame({f"{prefix}:{name}": texts for name, texts in outputs.items()})
    frame[f"{prefix}:ensemble"] = ensemble
    return frame


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="folder for predictions (reused on rerun; default: a temporary one)")
    names = ["corpus", "stylerec", "gpt35"]
    parser.add_argument("--train", nargs="+", default=["corpus", "gpt35"], choices=[*names, "demo"], help="sources")
    parser.add_argument("--config", type=Path, help="the pipeline, a TOML file (default: the library's defaults)")
    parser.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    parser.add_argument("--train-rows", type=int, default=3000, help="StyleRec training rows drawn (seeded)")
    parser.add_argument("--train-limit", type=int, default=None, help="the first N training rows (smoke runs)")
    parser.add_argument("--bank-limit", type=int, default=None, help="the first N osyuksel prompts (smoke runs)")


def main() -> None:
    run = start("cross_source", __doc__.splitlines()[0], options, smoke=SMOKE)
    in_out_folder(run, measure)


def measure(run: Run, out: Path) -> None:
    args = run.args
    out.mkdir(parents=True, exist_ok=True)
    data = sources(run, args.train_rows)
    data = {name: (rows.iloc[: args.train_limit], held) for name, (rows, held) in data.items()}
    held = {name: held_out(rows, args.limit) for name, (_, rows) in data.items()}
    osyuksel = banks.read_bank("osyuksel")[: args.bank_limit]
    config = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    embedder = load_embedder("minilm", cache_dir=CACHE)
    log: dict[str, Any] = {}

    def trained(source: str) -> Pipeline:
        with run.timed(f"train on {source}"):
            pipeline = train(data[source][0], config, cache_dir=CACHE)
        log[source] = {"rows": len(data[source][0]), "ensemble": pipeline.order}
        return pipeline

    def free_over(bank: list[str]) -> Callable[[], Pipeline]:
        return lambda: training_free(bank, cache_dir=CACHE)

    # one frame of predictions per (training source, held-out set): columns "<predictor>:<member>"
    frames: dict[tuple[str, str], list[pd.DataFrame]] = {(t, h): [] for t in args.train for h in held}
    # training-free over the osyuksel bank alone: the same for every training source
    free = cells({h: out / f"free-osyuksel--{h}.csv" for h in held}, held, free_over(osyuksel), "free:osyuksel")
    for source in args.train:
        if source not in data:
            raise SystemExit(f"--train {source}: not a source of this run ({', '.join(data)})")
        for h in held:
            frames[source, h].append(free[h])
        prompts = list(dict.fromkeys(p.strip() for p in data[source][0]["rewrite_prompt"] if p.strip()))
        runs_of: list[tuple[str, str, Callable[[], Pipeline]]] = [
            ("free:source", "free-source", free_over(prompts)),
            ("free:source+osyuksel", "free-source_osyuksel", free_over(prompts + osyuksel)),
            ("default", "default", lambda s=source: trained(s)),
        ]
        for prefix, name, build in runs_of:
            got = cells({h: out / f"{source}--{name}--{h}.csv" for h in held}, held, build, prefix)
            for h in held:
                frames[source, h].append(got[h])

    wide: dict[str, dict[str, str]] = {}  # predictor -> {cell: "mean (low-high)"}
    scores: dict[str, dict[str, float]] = {}
    for (source, h), parts in frames.items():
        table = pd.concat(parts, axis=1)
        truth = list(held[h]["rewrite_prompt"])
        cell = f"{source} → {h}" + (" (in-source)" if source == h else "")
        for column in table.columns:
            s = summarize(score_prompts(embedder, list(table[column]), truth))
            wide.setdefault(column, {})[cell] = f"{s.mean:.4f} ({s.ci_low:.4f}-{s.ci_high:.4f})"
            scores.setdefault(column, {})[cell] = round(s.mean, 4)
    heads = list(dict.fromkeys(c for row in wide.values() for c in row))
    rows = [[name, *(row.get(c, "") for c in heads)] for name, row in wide.items()]
    title = f"mean SCS (95% CI), {args.limit or 'all'} held-out rows a source; trained → scored"
    run.table(title, ["predictor", *heads], rows)
    run.numbers = {"scores": scores, "trainings": log, "heldout_rows": {h: len(r) for h, r in held.items()}}
    (out / "record.json").write_text(json.dumps(run.numbers, indent=1, ensure_ascii=False))
    run.save()


if __name__ == "__main__":
    main()
