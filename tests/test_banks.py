"""Prompt banks: reading every format and its errors, bank retrieval, train --bank, training-free predict."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.banks import PromptBank, read_bank
from prompt_recovery.cli import app
from prompt_recovery.errors import DataError
from prompt_recovery.pipeline import Pipeline, bank_of
from prompt_recovery.predictors import Context, Features, Retrieval
from prompt_recovery.predictors.base import unit

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "test.csv"
FAST = [
    {"kind": "constant", "text": "Rewrite the text in a new style."},
    {"kind": "retrieval", "k": 3},
    {"kind": "retrieval", "k": 3, "match": "bank"},
]
EXTRA = ["Rewrite this as a limerick.", "Make it sound like a weather report.", "Translate the text into French."]


def demo_rows(n: int = 12) -> pd.DataFrame:
    return pd.read_csv(DEMO, dtype=str).head(n)


# -- reading ---------------------------------------------------------------------------------------------
def test_read_bank_every_format(tmp_path):
    want = ["Make it formal", "As a poem", "Shorter"]
    (tmp_path / "b.txt").write_text("  Make it formal \n\nAs a poem\nMake it formal\nShorter\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(["Make it formal", " As a poem", "", "Shorter", "As a poem"]))
    pd.DataFrame({"id": ["1", "2", "3"], "rewrite_prompt": want, "prompt": ["x", "y", "z"]}).to_csv(
        tmp_path / "b.csv", index=False
    )
    pd.DataFrame({"prompt": [*want, "Shorter"]}).to_json(tmp_path / "b.jsonl", orient="records", lines=True)
    pd.DataFrame({"prompt": want}).to_parquet(tmp_path / "b.parquet")
    for name in ("b.txt", "b.json", "b.csv", "b.jsonl", "b.parquet"):
        assert read_bank(tmp_path / name) == want, name
    osyuksel = read_bank("osyuksel")
    assert len(osyuksel) == 9205 == len(set(osyuksel))
    assert osyuksel[1] == "Make the piece of text above longer!"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "\n  \n", "no prompts in this bank"),
        ("dict.json", '{"a": "b"}', "a JSON dict, not a list"),
        ("mixed.json", '["ok", 3]', "item 2: expected text, got an int (3)"),
        ("broken.json", '["ok",\n', "line 2"),
        ("cols.csv", "id,text\n1,hello\n", "no column 'rewrite_prompt' or 'prompt'; found ['id', 'text']"),
        ("bank.yaml", "- a\n", "unknown bank file type '.yaml'"),
    ],
)
def test_read_bank_errors_name_the_file_and_the_fix(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match="Fix: ") as err:
        read_bank(tmp_path / name)
    assert message in str(err.value) and name in str(err.value)


def test_none_is_no_extra_bank():
    assert read_bank("none") == [] and read_bank("") == [] and read_bank("None") == []


def test_read_bank_unknown_name_or_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"no packaged bank of that name.*osyuksel"):
        read_bank("osyuksle")
    with pytest.raises(DataError, match="no such bank file"):
        read_bank(tmp_path / "missing.txt")


# -- retrieval over the bank --------------------------------------------------------------------------
def test_bank_retrieval_picks_the_prompt_along_the_edit_direction():
    """Hand-made 4-d case: the rewrite moves the text along prompt 2's vector, a little toward prompt 0."""
    vectors = unit(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.6, 0.8]], dtype=np.float32))
    bank = PromptBank(["p0", "p1", "p2", "p3"], vectors)
    original = np.array([[0.5, 0.5, 0.0, 0.0]], dtype=np.float32)
    rewritten = original + np.array([[0.1, 0.0, 2.0, 0.0]], dtype=np.float32)
    rows = Features(pd.DataFrame({"id": ["r"]}), original, rewritten)
    ctx = Context(None, bank)  # type: ignore[arg-type]  # predict_vectors never embeds
    member = Retrieval(Retrieval.Config(k=1, match="bank"))
    member.fit(Features(pd.DataFrame(), np.zeros((0, 4)), np.zeros((0, 4))), ctx)  # no labelled rows: fine
    np.testing.assert_allclose(member.predict_vectors(rows, ctx), vectors[[2]], atol=1e-6)
    two = Retrieval(Retrieval.Config(k=2, match="bank")).predict_vectors(rows, ctx)  # p2 and p3 (cos 0.6)
    np.testing.assert_allclose(two, unit(vectors[[2]] + vectors[[3]]), atol=1e-6)
    assert member.arrays() == {}


def test_medoid_is_the_prompt_closest_to_the_others():
    vectors = unit(np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0, 1]], dtype=np.float32))
    assert PromptBank(["a", "b", "c", "d"], vectors).medoid() == "b"
    assert PromptBank(["a", "b", "c", "d"], vectors).medoid(targets=2) in {"a", "b", "c"}


def test_bank_order_training_prompts_first_then_the_new_extra_ones(minilm):
    rows = demo_rows(6)
    features = Features.of(rows, minilm)
    extra_texts = [rows["rewrite_prompt"][2], *EXTRA]
    extra = PromptBank(extra_texts, minilm.encode(extra_texts))
    bank = bank_of(features, extra)
    assert bank.texts == [*rows["rewrite_prompt"], *EXTRA]
    np.testing.assert_allclose(bank.vectors[-3:], extra.vectors[1:])
    grown = bank_of(features).with_encoded([*EXTRA, EXTRA[0]], minilm)
    assert grown.texts == bank.texts and np.allclose(grown.vectors, bank.vectors, atol=1e-6)


# -- commands ----------------------------------------------------------------------------------------
def test_train_with_a_bank_saves_it_in_the_model(tmp_path):
    rows = pd.concat([demo_rows(), demo_rows().assign(id=lambda d: d["id"] + "b")], ignore_index=True)
    data, cfg, bank = tmp_path / "train.csv", tmp_path / "p.toml", tmp_path / "bank.txt"
    rows.to_csv(data, index=False)
    cfg.write_text(
        "\n".join("[[member]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in m.items()) + "\n" for m in FAST)
    )
    bank.write_text("\n".join([rows["rewrite_prompt"][0], *EXTRA]) + "\n")
    model = tmp_path / "model"
    args = ["train", str(data), "--out", str(model), "--config", str(cfg), "--bank", str(bank)]
    res = CliRunner().invoke(app, [*args, "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    loaded = Pipeline.load(model)
    prompts = list(dict.fromkeys(rows["rewrite_prompt"]))
    assert loaded.bank.texts == [*prompts, *EXTRA] and loaded.bank.vectors.shape == (len(prompts) + 3, 384)
    assert loaded.settings.bank == str(bank)
    out = loaded.predict(rows.head(3).drop(columns=["rewrite_prompt"]), every_member=True)[1]
    assert all(out["retrieval2"])  # the bank member searched the saved bank
    inputs, sub, more = tmp_path / "in.csv", tmp_path / "sub.csv", tmp_path / "more.txt"
    rows.drop(columns=["rewrite_prompt"]).head(4).to_csv(inputs, index=False)
    more.write_text("Say it like a game-show host.\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    res = CliRunner().invoke(
        app, ["predict", str(inputs), "--model", str(model), "--bank", str(more), "-o", str(sub), *cache]
    )
    assert res.exit_code == 0, res.output
    assert pd.read_csv(sub)["rewrite_prompt"].str.strip().all()
    res = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "nope.txt")])
    assert res.exit_code == 2 and "no such bank file" in res.output


def test_training_free_predict_needs_no_labelled_rows(tmp_path):
    runner = CliRunner()
    inputs, bank, sub = tmp_path / "in.csv", tmp_path / "bank.json", tmp_path / "sub.csv"
    rows = demo_rows()
    rows.drop(columns=["rewrite_prompt"]).to_csv(inputs, index=False)
    texts = [*rows["rewrite_prompt"][:6], *EXTRA]
    bank.write_text(json.dumps(texts))
    cache = ["--cache-dir", str(tmp_path / "cache")]
    res = runner.invoke(app, ["predict", str(inputs), "--bank", str(bank), "-o", str(sub), "--chunk", "5", *cache])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(sub, dtype=str)
    assert list(out["id"]) == list(rows["id"])
    assert all(any(p.startswith(t) for t in texts) for p in out["rewrite_prompt"])  # joins of bank prompts
    assert len({next(t for t in texts if p.endswith(t)) for p in out["rewrite_prompt"]}) == 1  # + the medoid
    assert not (tmp_path / "sub.csv.partial.jsonl").exists()

    res = runner.invoke(app, ["predict", str(inputs), "-o", str(sub), *cache])
    assert res.exit_code == 2 and "--model FOLDER" in res.output and "--bank" in res.output
    res = runner.invoke(app, ["predict", str(inputs), "--model", "m", "--encoder", "minilm", "-o", str(sub)])
    assert res.exit_code == 2 and "drop --encoder" in res.output
