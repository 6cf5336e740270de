"""The recovery pipeline: save/load round trips, fallbacks, the never-blank guarantee, the commands."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.pipeline import FALLBACK, Pipeline, PipelineConfig, train
from prompt_recovery.prediction import model_fingerprint
from prompt_recovery.predictors import Context, Features, Retrieval
from prompt_recovery.rowlog import RowLog, fingerprint

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


def test_the_default_bank_is_the_training_prompts_then_osyuksel(pipeline):
    from prompt_recovery.banks import read_bank

    prompts = list(dict.fromkeys(labelled()["rewrite_prompt"].str.strip()))
    extra = [t for t in read_bank("osyuksel") if t not in set(prompts)]
    assert pipeline.settings.bank == "osyuksel"
    assert pipeline.bank.texts == prompts + extra


def ctx_of(pipeline) -> Context:
    return pipeline.context


def test_save_load_round_trip(pipeline, tmp_path):
    pipeline.save(tmp_path / "m")
    again = Pipeline.load(tmp_path / "m")
    rows = labelled().head(5)
    assert again.predict(rows) == pipeline.predict(rows)
    assert again.order == pipeline.order and again.bank.texts == pipeline.bank.texts
    doc = (tmp_path / "m" / "pipeline.json").read_text()
    assert "cache" not in doc  # no folder of the training machine travels with the model
    f = Features.of(rows, pipeline.embedder)
    np.testing.assert_allclose(
        again.members["regression"].predict_vectors(f, again.context),
        pipeline.members["regression"].predict_vectors(f, pipeline.context),
        atol=1e-6,
    )


def test_a_failing_member_falls_back_and_nothing_is_blank(pipeline, monkeypatch):
    rows = labelled().head(4)

    def boom(self, rows, ctx, candidates=None):
        raise RuntimeError("server down")

    monkeypatch.setattr(Retrieval, "predict", boom)
    preds, outputs = pipeline.predict(rows, every_member=True)
    assert outputs["retrieval"] == [""] * 4
    assert all(p.strip() for p in preds)


def test_all_members_blank_gives_the_mean_prompt_then_the_fallback(pipeline, monkeypatch):
    outputs = {name: ["", ""] for name in pipeline.members}
    mean_prompt = pipeline.members["constant"].text
    assert pipeline.mean_prompt == mean_prompt
    assert pipeline.combine(outputs) == [mean_prompt, mean_prompt]
    monkeypatch.setattr(pipeline.members["constant"], "text", "")
    assert pipeline.combine(outputs, order=["retrieval"]) == [FALLBACK, FALLBACK]


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
    cfg.write_text(  # the training prompts alone as the bank: these tests are about the commands
        'bank = "none"\n'
        + "\n".join("[[member]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in m.items()) + "\n" for m in FAST)
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
    assert out["readable_prompt"].str.strip().all()
    plain = tmp_path / "plain.csv"
    res = runner.invoke(
        app, ["predict", str(inputs), "--model", str(model), "--out", str(plain), "--style", "readable", *cache]
    )
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(plain)["rewrite_prompt"]) == list(out["readable_prompt"])
    res = runner.invoke(
        app, ["predict", str(inputs), "--model", str(model), "-o", str(plain), "--style", "poem", *cache]
    )
    assert res.exit_code == 2 and "poem" in res.output
    res = runner.invoke(app, ["evaluate", str(data), "--model", str(model), "--json", *cache])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)["predictors"]
    assert set(report) == {"constant", "retrieval", "regression", "readable", "ensemble"}
    # weights: 3 on rows 0-1, 1 on rows 2-4, 0 elsewhere; the weighted mean must be exactly that of
    # the per-row scores (rows with distinct truths, so it differs from the plain mean)
    weights = tmp_path / "w.csv"
    w = [3.0, 3.0, 1.0, 1.0, 1.0] + [0.0] * 19
    pd.DataFrame({"id": labelled()["id"], "weight": w}).to_csv(weights, index=False)
    per_row = tmp_path / "rows.csv"
    args = ["evaluate", str(data), "--model", str(model), "--json", "--per-row", str(per_row), *cache]
    res = runner.invoke(app, [*args, "--weights", str(weights)])
    assert res.exit_code == 0, res.output
    weighted = json.loads(res.stdout)["predictors"]["retrieval"]
    scores = pd.read_csv(per_row)["retrieval_score"].to_numpy()
    assert weighted["n"] == 24
    assert weighted["mean"] == pytest.approx(float(np.average(scores, weights=w)), abs=1e-6)
    assert abs(weighted["mean"] - report["retrieval"]["mean"]) > 1e-4
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
    args = ["predict", str(inputs), "--model", str(tmp_path / "m"), "-o", str(sub), "--cache-dir", str(tmp_path)]
    # an earlier run of this very command, killed mid-write: its sidecar records the model and input
    meta = {"job": "predict", "model": model_fingerprint(tmp_path / "m"), "input": fingerprint(inputs)}
    RowLog(partial, ["id", "rewrite_prompt", "readable_prompt"], meta=meta).append(
        [{"id": "a02", "rewrite_prompt": "from an earlier run", "readable_prompt": "earlier"}]
    )
    with partial.open("a") as fh:
        fh.write('{"id": "a0')
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = pd.read_csv(sub).set_index("id")["rewrite_prompt"]
    assert out["a02"] == "from an earlier run" and len(out) == 24


def _fewshot(pipeline, **options):
    from prompt_recovery.predictors import FewShot

    member = FewShot.from_table({"shots": 2, **options})
    member.fit(Features.of(labelled(), pipeline.embedder), pipeline.context)
    return member


def test_fewshot_shows_nearest_examples_and_cleans_answers(pipeline, tmp_path):
    from prompt_recovery.llm import ScriptedLLM

    member = _fewshot(pipeline)
    member.llm = ScriptedLLM(lambda request, config: " making it rhyme like a shanty.\nInstruction: more")
    rows = labelled().head(3)
    preds = member.predict(Features.of(rows, pipeline.embedder), pipeline.context)
    assert preds == ["Improve this text by making it rhyme like a shanty."] * 3
    request = member.llm.calls[0]
    assert isinstance(request, str) and request.endswith("Instruction: Improve this text by")
    # the row itself is in the bank (twice, as a02 and a02b), so its own prompt is the nearest example
    assert request.count(rows["rewrite_prompt"].iloc[0]) >= 1
    again = type(member).from_table(member.to_table())
    again.load_state(member.state(), member.arrays())
    again.llm = member.llm
    assert again.predict(Features.of(rows, pipeline.embedder), pipeline.context) == preds


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
    member = Regression.from_table({"arch": "attention", "epochs": 2, "hidden": 16, "heads": 2})
    member.fit(train_features, pipeline.context)
    again = Regression.from_table(member.to_table())
    again.load_state(member.state(), member.arrays())
    ctx = pipeline.context
    np.testing.assert_allclose(
        again.predict_vectors(train_features, ctx), member.predict_vectors(train_features, ctx), atol=1e-5
    )


def test_blend_averages_member_vectors_and_round_trips(pipeline, tmp_path):
    from prompt_recovery.predictors import Blend

    emb, ctx = pipeline.embedder, pipeline.context
    features = Features.of(labelled(), emb)
    parts = [{"kind": "retrieval", "k": 3, "weight": 2.0}, {"kind": "regression", "epochs": 2, "hidden": 16}]
    blend = Blend.from_table({"parts": parts, "invert": {"join": 2}})  # default invert.steps: refined strings
    assert blend.config.invert.steps == 10
    blend.fit(features, ctx)
    retrieval, regression = blend.parts
    expected = 2 * retrieval.predict_vectors(features, ctx) + regression.predict_vectors(features, ctx)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(blend.predict_vectors(features, ctx), expected, atol=1e-6)
    again = Blend.from_table(blend.to_table())
    assert again.config == blend.config
    again.load_state(blend.state(), blend.arrays())
    rows = Features.of(labelled().head(4), emb)
    assert again.predict(rows, ctx) == blend.predict(rows, ctx)
    assert all(s.strip() for s in again.predict(rows, ctx))
    with pytest.raises(PromptRecoveryError, match="a part is one of retrieval, regression"):
        Blend.from_table({"parts": [{"kind": "constant"}]})
    with pytest.raises(PromptRecoveryError, match=r"parts\[0\] \(retrieval\): unknown setting 'kk'; known: k, match"):
        Blend.from_table({"parts": [{"kind": "retrieval", "kk": 3}]})


def test_predict_runs_only_the_ensemble_and_falls_back_member_by_member(pipeline, monkeypatch):
    rows = labelled().head(4)
    ran: list[str] = []
    for name, member in pipeline.members.items():
        original = type(member).predict

        def spy(self, features, ctx, candidates=None, _name=name, _original=original):
            ran.append(_name)
            return _original(self, features, ctx, candidates)

        monkeypatch.setattr(member, "predict", spy.__get__(member))
    monkeypatch.setattr(pipeline, "order", ["regression"])
    monkeypatch.setattr(pipeline, "validation", {"retrieval": 0.5, "regression": 0.4, "constant": 0.1})
    preds, outputs = pipeline.predict(rows)
    # the mean prompt is a string, not a run; "readable" is the plain prompt beside each prediction
    assert ran == ["regression"] and set(outputs) == {"regression", "readable"}
    # regression blank on rows 1 and 3: retrieval (best validation score) fills exactly those rows
    blanks = {1, 3}
    ran.clear()
    monkeypatch.setattr(
        pipeline.members["regression"],
        "predict",
        lambda features, ctx, candidates=None: ["" if i in blanks else "kept" for i in range(len(features.rows))],
    )
    preds, outputs = pipeline.predict(rows)
    assert [p for i, p in enumerate(preds) if i not in blanks] == ["kept", "kept"]
    assert ran == ["retrieval"] and all(outputs["retrieval"][i] for i in blanks)
    assert [outputs["retrieval"][i] for i in (0, 2)] == ["", ""]
    assert all(p.strip() for p in preds)


def test_warm_start_offers_the_mean_prompt_whichever_members_run(pipeline, monkeypatch):
    """Validation runs every member, prediction only the ensemble's: a warm-starting member must be
    offered the same candidates in both, so only the mean prompt."""
    from dataclasses import replace

    from prompt_recovery.predictors import Regression

    member = pipeline.members["regression"]
    seen = []

    def spy(embedder, vectors, bank, config, extra=None, show_progress=False):
        if config is member.config.invert:  # the blend inverts too
            seen.append(extra)
        return ["a guess"] * len(vectors)

    monkeypatch.setattr("prompt_recovery.predictors.base.invert", spy)
    warm = replace(member.config, invert=replace(member.config.invert, warm_start=True))
    monkeypatch.setattr(member, "config", warm)
    rows = labelled().head(2)
    pipeline.predict(rows, every_member=True)
    monkeypatch.setattr(pipeline, "order", ["regression"])
    pipeline.predict(rows)  # only the ensemble's member runs
    assert seen == [[[pipeline.mean_prompt]] * 2] * 2
    monkeypatch.setattr(member, "config", replace(warm, invert=replace(warm.invert, warm_start=False)))
    pipeline.predict(rows, every_member=True)
    assert seen[-1] is None
    assert isinstance(member, Regression)


def test_chooser_stage_trains_saves_loads_and_never_writes_profanity(tmp_path, monkeypatch):
    doc = {"validation_fraction": 0.5, "chooser": {"enabled": True, "min_rows": 4, "trees": 20, "min_rows_in_leaf": 5}}
    config = PipelineConfig.from_doc({**doc, "member": [dict(m) for m in FAST]})
    trained = train(labelled(), config, cache_dir=str(tmp_path / "cache"))
    assert trained.chooser is not None and {"chooser", "chooser:oracle"} <= set(trained.validation)
    trained.save(tmp_path / "m")
    loaded = Pipeline.load(tmp_path / "m", cache_dir=str(tmp_path / "cache"))
    rows = labelled().head(6).drop(columns=["rewrite_prompt"])
    preds, outputs = loaded.predict(rows)
    assert preds == trained.predict(rows)[0] and {"joined", "readable"} <= set(outputs)
    assert all(r in loaded.bank.texts for r in outputs["readable"])
    # the settings' suffix ends every prediction once, whichever candidate the chooser took
    monkeypatch.setattr(loaded, "settings", replace(loaded.settings, suffix="lucrarea"))
    suffixed, _ = loaded.predict(rows)
    assert suffixed == [f"{t} lucrarea" for t in preds]
    # a member that writes profanity: no prediction or readable prompt carries it
    monkeypatch.setattr(
        loaded.members["retrieval"], "predict", lambda f, c, cand=None: ["right old bastards style"] * len(f.rows)
    )
    preds, outputs = loaded.predict(rows, every_member=True)
    assert not any("bastard" in t for t in [*preds, *outputs["readable"]])
    (tmp_path / "m" / "chooser.json").write_text("{")
    with pytest.raises(PromptRecoveryError, match=r"chooser\.json: (damaged|does not match)"):
        Pipeline.load(tmp_path / "m", cache_dir=str(tmp_path / "cache"))
    (tmp_path / "m" / "chooser.json").unlink()
    with pytest.raises(PromptRecoveryError, match=r"chooser\.json: missing"):
        Pipeline.load(tmp_path / "m", cache_dir=str(tmp_path / "cache"))


def test_reserved_member_names_are_refused():
    with pytest.raises(PromptRecoveryError, match="reserved"):
        PipelineConfig.from_doc({"member": [{"kind": "retrieval", "name": "readable"}]})


def test_predictions_do_not_depend_on_what_the_cache_holds(pipeline, tmp_path):
    """Two workers sharing a cache, or a cache filled by another job, must not change a row's vectors or
    prediction: a text encoded first beside other texts is cached with the same bits as alone."""
    pipeline.save(tmp_path / "m")
    rows = labelled()
    texts = [*rows["original_text"], *rows["rewritten_text"]]
    warm = Pipeline.load(tmp_path / "m", cache_dir=str(tmp_path / "warm"))
    for i, text in enumerate(texts):  # each text first encoded beside a long one, in a chunk of its own
        warm.embedder.encode([text, " ".join(texts[i - 1 :: -1])[:3000]], batch_size=2)
    cold = Pipeline.load(tmp_path / "m", cache_dir=str(tmp_path / "cold"))
    a, b = Features.of(rows, cold.embedder), Features.of(rows, warm.embedder)
    assert a.original.tobytes() == b.original.tobytes() and a.rewritten.tobytes() == b.rewritten.tobytes()
    assert cold.predict(rows) == warm.predict(rows)
