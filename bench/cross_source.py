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

Each held-out set is capped at ``--limit`` rows drawn (seeded). Predictors, each trained on the
training source (MiniLM proxy, mean SCS of the strings with a bootstrap 95% CI):

- ``today:constant``: the mean prompt; ``today:blend``: the blend of the defaults before this table
  (the base of the ratio column); ``today:ensemble``: what ``train`` with no config wrote then;
- ``free: osyuksel``, ``free: source``, ``free: source+osyuksel``: training-free retrieval
  (``pipeline.training_free``: the bank's nearest prompts by edit direction, averaged, inverted, joined
  with the bank's medoid; what ``predict --bank`` writes), over the packaged osyuksel bank, the training
  source's prompts, and both;
- the members of each variant in ``VARIANTS`` (candidate defaults, and ``default``: the library's
  defaults now), and each variant's ensemble.

Predictions are written to ``--out`` as they finish (one CSV per training source, variant and held-out
set), and a rerun with the same ``--out`` reuses them, so a killed run continues. The table is printed
at the end and written to ``--out/table.md``.

    .venv/bin/python bench/cross_source.py --out /tmp/cross [--train corpus gpt35] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from common import SHARED, require_shared

from prompt_recovery import banks
from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import summarize
from prompt_recovery.pipeline import Pipeline, PipelineConfig, train, training_free
from prompt_recovery.scoring import score_prompts

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CACHE = ".cache/bench"
COLUMNS = ["original_text", "rewritten_text", "rewrite_prompt"]
TODAY_PARTS = [
    {"kind": "retrieval", "k": 20, "weight": 2},
    {"kind": "regression", "arch": "attention", "epochs": 30},
    {"kind": "regression", "arch": "mlp"},
]
# Pipelines compared: a document each (settings and member tables, as in a TOML file).
VARIANTS: dict[str, dict[str, Any]] = {
    # the defaults before this table was measured (commit 31397f9): no extra bank, three blend parts
    "today": {
        "bank": "none",
        "member": [
            {"kind": "constant"},
            {"kind": "retrieval"},
            {"kind": "regression"},
            {"kind": "blend", "parts": TODAY_PARTS},
        ],
    },
    # candidates: the osyuksel bank; a blend with a training-free bank part (weight 2); the contrastive
    # query model (``regression`` with ``loss = "contrastive"``), its output and its bank vote
    "bank": {
        "bank": "osyuksel",
        "member": [
            {"kind": "constant"},
            {"kind": "blend", "name": "blend", "parts": TODAY_PARTS},
            {
                "kind": "blend",
                "name": "blend_free",
                "parts": [*TODAY_PARTS, {"kind": "retrieval", "match": "bank", "k": 20, "weight": 2}],
            },
            {"kind": "regression", "name": "query", "loss": "contrastive", "vote": 20},
            {"kind": "regression", "name": "query_raw", "loss": "contrastive"},
        ],
    },
    "default": {},  # the library's defaults now: bank osyuksel, the blend's bank part at weight 0.5
}


def _corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    corpus = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    split = corpus["id"].map(pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"])
    return corpus[split == "train"], corpus[split == "validation"]


def _public() -> pd.DataFrame:
    return pd.read_csv(require_shared(SHARED / "data/external/combined_triples.csv"), dtype=str, keep_default_na=False)


def sources(train_rows: int, seed: int = 0) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """{source: (training rows, held-out rows)}, each with at least ``COLUMNS``."""
    public = _public()
    style = public[public.source == "stylerec"]
    style_train = style[style.file.str.contains("train")]
    style_train = style_train.sample(n=min(train_rows, len(style_train)), random_state=seed)
    gpt = public[public.source == "alexsaavedraa"].sample(frac=1.0, random_state=seed)
    cut = int(0.8 * len(gpt))
    found = {
        "corpus": _corpus(),
        "stylerec": (style_train, style[style.file.str.contains("test")]),
        "gpt35": (gpt.iloc[:cut], gpt.iloc[cut:]),
    }
    return {
        name: (a[COLUMNS].reset_index(drop=True), b[COLUMNS].reset_index(drop=True)) for name, (a, b) in found.items()
    }


def cached(path: Path, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``path`` read back if an earlier run wrote it, else made now and written atomically."""
    if path.exists():
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = make()
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return frame


def predictions(pipeline: Pipeline, rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """One column per member (``prefix``-named) and ``prefix:ensemble``, one row per held-out row."""
    ensemble, outputs = pipeline.predict(rows, every_member=True)
    frame = pd.DataFrame({f"{prefix}:{name}": texts for name, texts in outputs.items()})
    frame[f"{prefix}:ensemble"] = ensemble
    return frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for predictions and the table (reused on rerun)")
    names = ["corpus", "stylerec", "gpt35"]
    ap.add_argument("--train", nargs="+", default=names, choices=names, help="training sources")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    ap.add_argument("--train-rows", type=int, default=3000, help="StyleRec training rows drawn (seeded)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = sources(args.train_rows)
    held = {
        name: rows if not args.limit or len(rows) <= args.limit else rows.sample(n=args.limit, random_state=0)
        for name, (_, rows) in data.items()
    }
    held = {name: rows.reset_index(drop=True) for name, rows in held.items()}
    osyuksel = banks.read_bank("osyuksel")
    embedder = load_embedder("minilm", cache_dir=CACHE)
    log: dict[str, Any] = {}

    # one frame of predictions per (training source, held-out set): columns "<variant>:<member>"
    frames: dict[tuple[str, str], list[pd.DataFrame]] = {(t, h): [] for t in args.train for h in held}
    free_osyuksel = training_free(osyuksel, cache_dir=CACHE)  # the same for every training source
    for h, rows in held.items():
        frame = cached(
            args.out / f"free-osyuksel--{h}.csv", lambda p=free_osyuksel, r=rows: predictions(p, r, "free:osyuksel")
        )
        for source in args.train:
            frames[source, h].append(frame)
    for source in args.train:
        train_rows = data[source][0]
        prompts = list(dict.fromkeys(p.strip() for p in train_rows["rewrite_prompt"] if p.strip()))
        for tag, bank in (("free:source", prompts), ("free:source+osyuksel", prompts + osyuksel)):
            free = training_free(bank, cache_dir=CACHE)
            for h, rows in held.items():
                path = args.out / f"{source}--{tag.replace(':', '-').replace('+', '_')}--{h}.csv"
                frames[source, h].append(cached(path, lambda p=free, r=rows, t=tag: predictions(p, r, t)))
        for variant in args.variants:
            paths = {h: args.out / f"{source}--{variant}--{h}.csv" for h in held}
            if all(p.exists() for p in paths.values()):
                for h, p in paths.items():
                    frames[source, h].append(pd.read_csv(p, dtype=str, keep_default_na=False))
                continue
            config = PipelineConfig.from_doc(VARIANTS[variant], f"variant {variant}: ")
            start = time.perf_counter()
            pipeline = train(train_rows, config, cache_dir=CACHE)
            trained = time.perf_counter() - start
            log[f"{source}/{variant}"] = {"train_s": round(trained), "rows": len(train_rows), "order": pipeline.order}
            print(f"{source}/{variant}: trained on {len(train_rows)} rows in {trained:.0f}s, ensemble {pipeline.order}")
            for h, rows in held.items():
                start = time.perf_counter()
                make = lambda p=pipeline, r=rows, v=variant: predictions(p, r, v)  # noqa: E731
                frames[source, h].append(cached(paths[h], make))
                print(f"  predicted {len(rows)} {h} rows in {time.perf_counter() - start:.0f}s", flush=True)
    (args.out / "runs.json").write_text(json.dumps(log, indent=1))

    lines = ["| trained on | scored on | predictor | mean SCS | 95% CI | / today's blend |"]
    lines.append("|---|---|---|---|---|---|")
    for (source, h), parts in frames.items():
        table = pd.concat(parts, axis=1)
        truth = list(held[h]["rewrite_prompt"])
        scores = {c: summarize(score_prompts(embedder, list(table[c]), truth)) for c in table.columns}
        base = scores.get("today:blend")
        cell = f"{source} (in-source)" if source == h else source
        for column, s in scores.items():
            ratio = f"{s.mean / base.mean:.2f}x" if base and base.mean > 0 else ""
            lines.append(f"| {cell} | {h} | {column} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} | {ratio} |")
    text = "\n".join(lines)
    print(text)
    (args.out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
