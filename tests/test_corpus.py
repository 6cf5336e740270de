import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.corpus import assign_splits, build_corpus, check_corpus, near_duplicates

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
shipped = pytest.mark.skipif(not (CORPUS / "corpus.csv").exists(), reason="corpus not built yet")


@shipped
def test_shipped_corpus_passes_its_checks_and_matches_its_sources():
    df = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    report = check_corpus(df)
    assert report.ok, report.errors[:10]
    rebuilt = build_corpus(CORPUS / "src")
    pd.testing.assert_frame_equal(df, rebuilt.astype(str))
    assert report.stats["rows"] >= 2000 and report.stats["distinct_prompts"] >= 1200
    assert len(report.stats["genres"]) >= 15


@shipped
def test_shipped_splits_share_no_prompt_or_original():
    df = pd.read_csv(CORPUS / "corpus.csv", dtype=str, keep_default_na=False)
    splits = pd.read_csv(CORPUS / "splits.csv", dtype=str).set_index("id")["split"]
    df["split"] = df["id"].map(splits)
    assert df["split"].notna().all()
    train, val = df[df.split == "train"], df[df.split == "validation"]
    assert not set(train.rewrite_prompt.str.lower()) & set(val.rewrite_prompt.str.lower())
    assert not set(train.original_text) & set(val.original_text)
    assert 0.1 < len(val) / len(df) < 0.3
    assert (df["split"] == assign_splits(df)).all()  # the file is what the code gives


def corpus_rows():
    base = "The harbour master counted forty boats before dawn and wrote each name in a green ledger by lamplight."
    other = "Our team shipped the new billing page on Friday, and support tickets fell by a third within a week."
    return pd.DataFrame(
        {
            "id": ["a-1", "a-2", "b-1", "c-1"],
            "genre": ["news"] * 4,
            "prompt_family": ["form", "task", "form", "dance"],
            "original_text": [base, base, other, base + " Then he slept."],
            "rewrite_prompt": ["Make it a haiku.", "Make it a haiku.", "Summarise it.", "summarise it!"],
            "rewritten_text": ["Boats before the dawn", "x", other, "Formal."],
        }
    )


def test_check_finds_each_kind_of_problem():
    report = check_corpus(corpus_rows(), min_words=5)
    text = "\n".join(report.errors)
    assert "a-2: duplicate (original, prompt) pair of a-1" in text
    assert text.count("duplicate (original, prompt)") == 1  # once per duplicate, not once per row
    assert "b-1: rewrite identical to its original" in text
    assert "c-1: unknown prompt_family 'dance'" in text
    assert "near-duplicate originals" in text


def test_near_duplicates_ignores_distinct_texts():
    texts = [
        "one two three four five six seven eight nine ten",
        "alpha beta gamma delta epsilon zeta eta theta iota kappa",
        "one two three four five six seven eight nine eleven",
    ]
    assert [(i, j) for i, j, _ in near_duplicates(texts)] == [(0, 2)]


def test_splits_keep_shared_originals_and_prompts_together():
    df = corpus_rows()
    for salt in ("a", "b", "c", "d", "e", "f"):
        s = assign_splits(df, validation_fraction=0.5, salt=salt)
        assert s[0] == s[1]  # rows 0 and 1 share an original
        assert s[2] == s[3]  # rows 2 and 3 share a prompt (after normalising case and end punctuation)


def test_check_corpus_cli(tmp_path):
    path = tmp_path / "c.csv"
    corpus_rows().to_csv(path, index=False)
    res = CliRunner().invoke(app, ["check-corpus", str(path), "--json"])
    assert res.exit_code == 1 and "duplicate (original, prompt)" in res.output
    assert "duplicate (original, prompt) pair of a-1" in json.loads(res.stdout)["problems"][0]


def test_check_corpus_accepts_the_demo_and_generate_output(tmp_path):
    """Text by default, a closing "no problems" line; the demo test set and generate's columns pass."""
    res = CliRunner().invoke(app, ["check-corpus", str(ROOT / "data" / "demo" / "test.csv")])
    assert res.exit_code == 0, res.output
    assert "28 rows, 28 originals" in res.stdout and "no problems found" in res.stdout
    assert not res.stdout.lstrip().startswith("{")
    generated = tmp_path / "triples.jsonl"
    demo = pd.read_csv(ROOT / "data" / "demo" / "train.csv", dtype=str)
    demo[["id", "original_text", "rewrite_prompt", "rewritten_text"]].assign(finish_reason="stop", llm="x").to_json(
        generated, orient="records", lines=True
    )
    res = CliRunner().invoke(app, ["check-corpus", str(generated)])
    assert res.exit_code == 0, res.output
    assert "prompt families: (no column)" in res.stdout


def test_shipped_demo_passes_its_checks_and_matches_its_sources():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_demo", ROOT / "scripts" / "build_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    demo = module.build_demo()
    assert module.find_problems(demo) == []
    assert 60 <= len(demo) <= 100 and demo["original_text"].is_unique
    for split in ("train", "test"):
        shipped = pd.read_csv(ROOT / "data" / "demo" / f"{split}.csv", dtype=str, keep_default_na=False)
        built = demo.loc[demo["split"] == split, module.COLUMNS].reset_index(drop=True)
        pd.testing.assert_frame_equal(shipped, built)
