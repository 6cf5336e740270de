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
from collections.abc import Callable, Iterator, Sequence
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
    # the defaults of commit afb4339 (chosen on the first table): the osyuksel bank, the blend's bank
    # part at weight 0.5, the blend's inversion not warm-started
    "bank05": {
        "bank": "osyuksel",
        "member": [
            {"kind": "constant"},
            {"kind": "retrieval"},
            {"kind": "regression"},
            {
                "kind": "blend",
                "parts": [*TODAY_PARTS, {"kind": "retrieval", "match": "bank", "k": 20, "weight": 0.5}],
                "invert": {"steps": 10, "top_k": 4},
            },
        ],
    },
    "default": {},  # the library's defaults now
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


def held_out(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The held-out rows scored: all of ``rows``, or ``limit`` of them drawn (seed 0) when there are
    more (``limit`` 0: all). Every bench that compares with this table draws its rows here."""
    if limit and len(rows) > limit:
        rows = rows.sample(n=limit, random_state=0)
    return rows.reset_index(drop=True)


def held_out_sets(train: str, limit: int, only: Sequence[str] | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """(tag, held-out rows) for every source of ``sources`` in order, or those named in ``only``: the
    rows ``held_out`` draws, the tag the source's name with " (in-source)" when it is ``train``.
    Example: ``held_out_sets("corpus", 200)`` yields ("corpus (in-source)", 200 rows), ("stylerec", ...),
    ("gpt35", ...)."""
    for name, (_, rows) in sources(3000).items():
        if not only or name in only:
            yield (f"{name} (in-source)" if name == train else name), held_out(rows, limit)


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
        start = time.perf_counter()
        out[h] = predictions(pipeline, held[h], prefix)
        print(f"  {prefix}: predicted {len(held[h])} {h} rows in {time.perf_counter() - start:.0f}s", flush=True)
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
    held = {name: held_out(rows, args.limit) for name, (_, rows) in data.items()}
    osyuksel = banks.read_bank("osyuksel")
    embedder = load_embedder("minilm", cache_dir=CACHE)

    runs = args.out / "runs.json"
    log: dict[str, Any] = json.loads(runs.read_text()) if runs.exists() else {}  # earlier runs' trainings

    def trained(source: str, variant: str) -> Pipeline:
        config = PipelineConfig.from_doc(VARIANTS[variant], f"variant {variant}: ")
        train_rows = data[source][0]
        start = time.perf_counter()
        pipeline = train(train_rows, config, cache_dir=CACHE)
        seconds = time.perf_counter() - start
        log[f"{source}/{variant}"] = {"train_s": round(seconds), "rows": len(train_rows), "order": pipeline.order}
        runs.write_text(json.dumps(log, indent=1))
        print(f"{source}/{variant}: trained on {len(train_rows)} rows in {seconds:.0f}s, ensemble {pipeline.order}")
        return pipeline

    # one frame of predictions per (training source, held-out set): columns "<variant>:<member>"
    frames: dict[tuple[str, str], list[pd.DataFrame]] = {(t, h): [] for t in args.train for h in held}

    def free_over(bank: list[str]) -> Callable[[], Pipeline]:
        return lambda: training_free(bank, cache_dir=CACHE)

    # training-free over the osyuksel bank alone: the same for every training source
    free = cells({h: args.out / f"free-osyuksel--{h}.csv" for h in held}, held, free_over(osyuksel), "free:osyuksel")
    for source in args.train:
        for h in held:
            frames[source, h].append(free[h])
        prompts = list(dict.fromkeys(p.strip() for p in data[source][0]["rewrite_prompt"] if p.strip()))
        runs_of: list[tuple[str, str, Callable[[], Pipeline]]] = [
            ("free:source", "free-source", free_over(prompts)),
            ("free:source+osyuksel", "free-source_osyuksel", free_over(prompts + osyuksel)),
            *((v, v, lambda s=source, v=v: trained(s, v)) for v in args.variants),
        ]
        for prefix, name, build in runs_of:
            got = cells({h: args.out / f"{source}--{name}--{h}.csv" for h in held}, held, build, prefix)
            for h in held:
                frames[source, h].append(got[h])

    lines = ["| trained on | scored on | predictor | mean SCS | 95% CI | / today's blend |"]
    lines.append("|---|---|---|---|---|---|")
    wide: dict[str, dict[str, str]] = {}  # predictor -> {cell: "mean (ratio)"}
    for (source, h), parts in frames.items():
        table = pd.concat(parts, axis=1)
        truth = list(held[h]["rewrite_prompt"])
        scores = {c: summarize(score_prompts(embedder, list(table[c]), truth)) for c in table.columns}
        base = scores.get("today:blend")
        cell = f"{source} (in-source)" if source == h else source
        for column, s in scores.items():
            ratio = f"{s.mean / base.mean:.2f}x" if base and base.mean > 0 else ""
            lines.append(f"| {cell} | {h} | {column} | {s.mean:.4f} | {s.ci_low:.4f}-{s.ci_high:.4f} | {ratio} |")
            wide.setdefault(column, {})[f"{source} → {h}"] = f"{s.mean:.4f} ({ratio})" if ratio else f"{s.mean:.4f}"
    # the same scores, one row per predictor and one column per (training source, held-out set)
    heads = list(dict.fromkeys(c for row in wide.values() for c in row))
    lines += ["", "| predictor | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    lines += [f"| {name} | " + " | ".join(row.get(c, "") for c in heads) + " |" for name, row in wide.items()]
    text = "\n".join(lines)
    print(text)
    (args.out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
