"""The rows the benchmarks train and score on, read one way for all of them.

Sources: ``corpus`` (shipped: data/corpus, its train and validation splits), and from
``../shared/data/external`` ``stylerec`` (StyleRec: train file / test file) and ``gpt35`` (the GPT-3.5
triples of alexsaavedraa, shuffled with seed 0: 80% train, 20% held out). At smoke size without
``../shared`` the shared sources are replaced by ``demo`` (shipped: data/demo train / test), and the
benchmark's record notes it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from harness import ROOT, Run, shared

CORPUS = ROOT / "data" / "corpus"
DEMO = ROOT / "data" / "demo"
COLUMNS = ["original_text", "rewritten_text", "rewrite_prompt"]
SHARED_SOURCES = ("stylerec", "gpt35")


def _csv(path: Path, **kw) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)


def corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train split, validation split) of the shipped corpus, all columns."""
    rows = _csv(CORPUS / "corpus.csv")
    split = rows["id"].map(_csv(CORPUS / "splits.csv").set_index("id")["split"])
    return rows[split == "train"].reset_index(drop=True), rows[split == "validation"].reset_index(drop=True)


def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) of the shipped demo set (written by the project, another hand than the corpus)."""
    return _csv(DEMO / "train.csv"), _csv(DEMO / "test.csv")


def public(run: Run | None = None) -> pd.DataFrame | None:
    """The public triples (``combined_triples.csv``), or None at smoke size without ../shared."""
    path = shared("data/external/combined_triples.csv", run)
    return None if path is None else _csv(path)


def stylerec_test(run: Run | None = None) -> pd.DataFrame | None:
    """StyleRec's test file in ``COLUMNS``, or None at smoke size without ../shared."""
    path = shared("data/external/stylerec/final_test_data.csv", run)
    if path is None:
        return None
    rows = _csv(path, sep="\t").rename(
        columns={
            "original_sentence": "original_text",
            "result_sentence": "rewritten_text",
            "style_prompt": "rewrite_prompt",
        }
    )
    return rows[COLUMNS]


def sources(
    run: Run | None = None, train_rows: int = 3000, seed: int = 0
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """{source: (training rows, held-out rows)} in ``COLUMNS``: corpus, stylerec, gpt35; at smoke size
    without ../shared: corpus and demo."""
    found = {"corpus": corpus()}
    triples = public(run)
    if triples is None:
        found["demo"] = demo()
    else:
        style = triples[triples.source == "stylerec"]
        style_train = style[style.file.str.contains("train")]
        style_train = style_train.sample(n=min(train_rows, len(style_train)), random_state=seed)
        gpt = triples[triples.source == "alexsaavedraa"].sample(frac=1.0, random_state=seed)
        cut = int(0.8 * len(gpt))
        found["stylerec"] = (style_train, style[style.file.str.contains("test")])
        found["gpt35"] = (gpt.iloc[:cut], gpt.iloc[cut:])
    return {k: (a[COLUMNS].reset_index(drop=True), b[COLUMNS].reset_index(drop=True)) for k, (a, b) in found.items()}


def held_out(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """All of ``rows``, or ``limit`` of them drawn (seed 0) when there are more (``limit`` 0: all): the
    draw of every cross-source table."""
    if limit and len(rows) > limit:
        rows = rows.sample(n=limit, random_state=0)
    return rows.reset_index(drop=True)


def sample_prompts(n: int, run: Run | None = None, seed: int = 0) -> list[str]:
    """``n`` distinct prompts drawn (seeded) from the pedromb and osyuksel banks of ../shared; at smoke
    size without ../shared, from the packaged osyuksel bank."""
    import json
    import random

    from prompt_recovery.banks import read_bank

    pool: list[str] = []
    for name in ("pedromb/prompts_selected_new_07.json", "osyuksel/prompts_cfg.json"):
        path = shared(f"data/external/prompt_banks/{name}", run)
        if path is None:
            pool = read_bank("osyuksel")
            break
        pool += json.loads(path.read_text())
    unique = sorted({p.strip() for p in pool if isinstance(p, str) and p.strip()})
    return random.Random(seed).sample(unique, min(n, len(unique)))
