"""The recovery pipeline: save/load round trips, fallbacks, the never-blank guarantee, the commands."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.pipeline import FALLBACK, Pipeline, PipelineConfig, train
from prompt_recovery.predictors import Features, Retrieval

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "test.csv"
FAST = [
    {"kind": "constant", "text": "Rewrite the text in a new style."},
    {"kind": "retrieval", "k": 3},
    {"kind": "regression", "epochs": 3, "hidden": 32},
]


def labelled() -> pd.DataFrame:
    df = pd.read_csv(DEMO, dtype=str).head(12)
    # 24 rows: 12 demo test rows twice, the second copy with its own ids
    return pd.concat([df, df.assign(id=df["id"] + "b")], ignore_index=True)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    return train(labelled(), PipelineConfig(members=[dict(m) for m in FAST]), cache_dir=cache)


def test_save_load_round_trip(pipeline, tmp_path):
    pipeline.save(tmp_path / "m")
    again = Pipeline.load(tmp_path / "m")
    rows = labelled().head(5)
    assert again.predict(rows) == pipeline.predict(rows)
    assert again.order == pipeline.order
    assert all("cache_dir" not in m.options for m in again.members.values())  # not the training machine's
    here = Pipeline.load(tmp_path / "m", cache_dir=tmp_path / "cache")
    assert all(m.options["cache_dir"] == str(tmp_path / "cache") for m in here.members.values())
    f = Features.of(rows, pipeline.embedder)
    np.testing.assert_allclose(
        again.members["regression"].predict_vectors(f, again.embedder),
        pipeline.members["regression"].predict_vectors(f, pipeline.embedder),
        atol=1e-6,
    )


def test_a_failing_member_falls_back_and_nothing_is_blank(pipeline, monkeypatch):
    rows = labelled().head(4)

    def boom(self, rows, embedder):
        raise RuntimeError("server down")

    monkeypatch.setattr(Retrieval, "predict", boom)
    preds, outputs = pipeline.predict(rows, every_member=True)
    assert outputs["retrieval"] == [""] * 4
    assert all(p.strip() for p in preds)


def test_all_members_blank_gives_the_fallback(pipeline):
    outputs = {name: ["", ""] for name in pipeline.members}
    assert pipeline.combine(outputs) == [FALLBACK, FALLBACK]
    outputs["constant"] = ["mean prompt", "mean prompt"]
    assert pipeline.combine(outputs, order=["retrieval"]) == ["mean prompt", "mean prompt"]


def test_missing_model_dir_and_bad_config(tmp_path):
    with pytest.raises(PromptRecoveryError, match="no trained model"):
        Pipeline.load(tmp_path / "nothing")
    bad = tmp_path / "p.toml"
    bad.write_text('[[member]]\nkind = "oracle"\n')
    with pytest.raises(PromptRecoveryError, match="unknown"):
        PipelineConfig.from_toml(bad)


def test_train_needs_rows():
    with pytest.raises(PromptRecoveryError, match="at least 10"):
        train(labelled().head(3))


def test_commands_end_to_end(tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        "\n".join("[[member]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in m.items()) + "\n" for m in FAST)
    )
    data = tmp_path / "train.csv"
    labelled().to_csv(data, index=False)
    model, sub = tmp_path / "model", tmp_path / "sub.csv"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    res = runner.invoke(app, ["train", str(data), "--out", str(model), "--config", str(cfg), "--sample", "20", *cache])
    assert res.exit_code == 0, res.output
    assert "trained on 20 rows" in res.output
    inputs = tmp_path / "in.csv"
    labelled().drop(columns=["rewrite_prompt"]).to_csv(inputs, index=False)
    res = runner.invoke(app, ["predict", str(inputs), "--model", str(model), "-o", str(sub), "--chunk", "5", *cache])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(sub)
    assert list(out["id"]) == list(labelled()["id"]) and out["rewrite_prompt"].str.strip().all()
    assert not (tmp_path / "sub.csv.partial.jsonl").exists()
    res = runner.invoke(app, ["evaluate", str(data), "--model", str(model), "--json", *cache])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)["predictors"]
    assert set(report) == {"constant", "retrieval", "regression", "ensemble"}
    weights = tmp_path / "w.csv"
    pd.DataFrame({"id": labelled()["id"], "weight": [1.0] * 12 + [0.0] * 12}).to_csv(weights, index=False)
    res = runner.invoke(
        app, ["evaluate", str(data), "--model", str(model), "--json", "--weights", str(weights), *cache]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["predictors"]["constant"]["n"] == 24
    splits = tmp_path / "splits.csv"
    pd.DataFrame({"id": labelled()["id"], "split": ["validation"] * 5 + ["train"] * 19}).to_csv(splits, index=False)
    res = runner.invoke(
        app, ["evaluate", str(data), "--model", str(model), "--json", "--split-file", str(splits), *cache]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["predictors"]["ensemble"]["n"] == 5
    empty = tmp_path / "empty.csv"
    empty.write_text("id,original_text,rewritten_text\n")
    res = runner.invoke(app, ["predict", str(empty), "--model", str(model), "-o", str(tmp_path / "e.csv"), *cache])
    assert res.exit_code == 2 and "no rows" in res.output
    res = runner.invoke(app, ["predict", str(inputs), "--model", str(tmp_path / "nope"), "-o", str(sub), *cache])
    assert res.exit_code == 2 and "no trained model" in res.output


def test_predict_resumes_from_partial_file(tmp_path, pipeline):
    pipeline.save(tmp_path / "m")
    inputs = tmp_path / "in.csv"
    labelled().drop(columns=["rewrite_prompt"]).to_csv(inputs, index=False)
    sub = tmp_path / "sub.csv"
    partial = tmp_path / "sub.csv.partial.jsonl"
    partial.write_text(json.dumps({"id": "a02", "rewrite_prompt": "from an earlier run"}) + "\n" + '{"id": "a0')
    args = ["predict", str(inputs), "--model", str(tmp_path / "m"), "-o", str(sub), "--cache-dir", str(tmp_path)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = pd.read_csv(sub).set_index("id")["rewrite_prompt"]
    assert out["a02"] == "from an earlier run" and len(out) == 24


def _fewshot(pipeline, **options):
    from prompt_recovery.predictors import FewShot

    member = FewShot(shots=2, **options)
    member.fit(Features.of(labelled(), pipeline.embedder), pipeline.embedder)
    return member


def test_fewshot_shows_nearest_examples_and_cleans_answers(pipeline, tmp_path):
    from prompt_recovery.llm import ScriptedLLM

    member = _fewshot(pipeline)
    member.llm = ScriptedLLM(lambda request, config: " making it rhyme like a shanty.\nInstruction: more")
    rows = labelled().head(3)
    preds = member.predict(Features.of(rows, pipeline.embedder), pipeline.embedder)
    assert preds == ["Improve this text by making it rhyme like a shanty."] * 3
    request = member.llm.calls[0]
    assert isinstance(request, str) and request.endswith("Instruction: Improve this text by")
    # the row itself is in the bank (twice, as a02 and a02b), so its own prompt is the nearest example
    assert request.count(rows["rewrite_prompt"].iloc[0]) >= 1
    again = type(member).restore(member.state(), member.arrays())
    again.llm = member.llm
    assert again.predict(Features.of(rows, pipeline.embedder), pipeline.embedder) == preds


def test_fewshot_with_an_unreachable_server_falls_back(pipeline, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    member = _fewshot(pipeline, llm="openai", base_url=f"http://127.0.0.1:{port}", model="m", retries=0)
    monkeypatch.setitem(pipeline.members, "fewshot", member)
    monkeypatch.setattr(pipeline, "order", ["fewshot", *pipeline.order])
    preds, outputs = pipeline.predict(labelled().head(3))
    assert outputs["fewshot"] == ["", "", ""]
    assert all(p.strip() for p in preds)


def test_attention_regression_round_trip_and_token_types(pipeline):
    from prompt_recovery.predictors import Regression
    from prompt_recovery.predictors.regression import KEPT, NEW, ORIGINAL, token_inputs

    emb = pipeline.embedder
    rows = pd.DataFrame({"original_text": ["the cat sat"], "rewritten_text": ["the cat sang loudly"]})
    ids, types = token_inputs(emb, Features(rows, np.zeros((1, 1)), np.zeros((1, 1))), 96, 32)
    rewritten = emb.tokenizer.encode_plain("the cat sang loudly")
    original = emb.tokenizer.encode_plain("the cat sat")
    assert ids[0, : len(rewritten) + len(original)].tolist() == rewritten + original
    kinds = types[0].tolist()
    assert kinds[:2] == [KEPT, KEPT] and NEW in kinds[2 : len(rewritten)]
    assert kinds[len(rewritten) : len(rewritten) + len(original)] == [ORIGINAL] * len(original)

    train_features = Features.of(labelled(), emb)
    member = Regression(arch="attention", epochs=2, hidden=16, heads=2)
    member.fit(train_features, emb)
    again = Regression.restore(member.state(), member.arrays())
    np.testing.assert_allclose(
        again.predict_vectors(train_features, emb), member.predict_vectors(train_features, emb), atol=1e-5
    )


def test_blend_averages_member_vectors_and_round_trips(pipeline, tmp_path):
    from prompt_recovery.predictors import Blend

    emb = pipeline.embedder
    features = Features.of(labelled(), emb)
    parts = [{"kind": "retrieval", "k": 3, "weight": 2.0}, {"kind": "regression", "epochs": 2, "hidden": 16}]
    blend = Blend(parts=parts, join=2, cache_dir=str(tmp_path))  # default invert_steps: refined strings
    blend.fit(features, emb)
    retrieval, regression = (part for _, part in blend.parts)
    expected = 2 * retrieval.predict_vectors(features, emb) + regression.predict_vectors(features, emb)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(blend.predict_vectors(features, emb), expected, atol=1e-6)
    again = Blend.restore(blend.state(), blend.arrays())
    rows = Features.of(labelled().head(4), emb)
    assert again.predict(rows, emb) == blend.predict(rows, emb)
    assert all(s.strip() for s in again.predict(rows, emb))
    with pytest.raises(ValueError, match="vector predictor"):
        Blend(parts=[{"kind": "constant"}])


def test_greedy_join_batches_rows_independently(pipeline):
    from prompt_recovery.predictors.invert import greedy_join

    emb = pipeline.embedder
    a, b, c = "Rewrite it as a pirate would say it.", "Turn it into a haiku about autumn.", "Summarize the text."
    both = emb.encode([a]) + emb.encode([b])
    vectors = np.vstack([both / np.linalg.norm(both), emb.encode([c])]).astype(np.float32)
    together = greedy_join(emb, vectors, [[a, b, c], [a, b, c]], join=3)
    assert a in together[0] and b in together[0] and c not in together[0]
    assert together[1] == c  # joining anything to the exact match only lowers its score
    alone = greedy_join(emb, vectors[:1], [[a, b, c]], join=3)
    assert alone == together[:1]
    assert greedy_join(emb, vectors[:1], [[]], join=3) == [""]


def test_predict_runs_only_the_ensemble_and_falls_back_member_by_member(pipeline, monkeypatch):
    rows = labelled().head(4)
    ran: list[str] = []
    for name, member in pipeline.members.items():
        original = type(member).predict

        def spy(self, features, embedder, _name=name, _original=original):
            ran.append(_name)
            return _original(self, features, embedder)

        monkeypatch.setattr(member, "predict", spy.__get__(member))
    monkeypatch.setattr(pipeline, "order", ["regression"])
    monkeypatch.setattr(pipeline, "validation", {"retrieval": 0.5, "regression": 0.4, "constant": 0.1})
    preds, outputs = pipeline.predict(rows)
    assert sorted(ran) == ["constant", "regression"] and set(outputs) == {"constant", "regression"}
    # regression blank on rows 1 and 3: retrieval (best validation score) fills exactly those rows
    blanks = {1, 3}
    ran.clear()
    monkeypatch.setattr(
        pipeline.members["regression"],
        "predict",
        lambda features, embedder: ["" if i in blanks else "kept" for i in range(len(features.rows))],
    )
    preds, outputs = pipeline.predict(rows)
    assert [p for i, p in enumerate(preds) if i not in blanks] == ["kept", "kept"]
    assert ran == ["constant", "retrieval"] and all(outputs["retrieval"][i] for i in blanks)
    assert [outputs["retrieval"][i] for i in (0, 2)] == ["", ""]
    assert all(p.strip() for p in preds)


def test_warm_start_offers_earlier_members_and_the_mean_prompt(pipeline, monkeypatch):
    from prompt_recovery.predictors import Regression

    seen = {}

    def spy(self, rows, embedder, extra=None):
        seen["extra"] = extra
        return ["a guess"] * len(rows.rows)

    monkeypatch.setattr(Regression, "predict", spy)
    monkeypatch.setitem(pipeline.members["regression"].options, "warm_start", True)
    rows = labelled().head(2)
    _, outputs = pipeline.predict(rows, every_member=True)
    mean_prompt = pipeline.members["constant"].text
    for i in range(2):
        assert seen["extra"][i] == [mean_prompt, outputs["retrieval"][i]]
    monkeypatch.setitem(pipeline.members["regression"].options, "warm_start", False)
    pipeline.predict(rows, every_member=True)
    assert seen["extra"] is None
    with pytest.raises(PromptRecoveryError, match="warm_start needs an inverting member"):
        train(labelled(), PipelineConfig(members=[{"kind": "constant", "text": "x", "warm_start": True}]))
