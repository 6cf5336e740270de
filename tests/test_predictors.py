"""The predictor contract, for every registered kind: typed config (unknown keys refused, listing the
known ones), fit, predict (one non-blank string per row), and a save/load round trip that predicts the
same strings."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.config import to_table
from prompt_recovery.errors import ConfigError
from prompt_recovery.llm import ScriptedLLM
from prompt_recovery.pipeline import PipelineConfig, bank_of
from prompt_recovery.predictors import PREDICTORS, Context, Features

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "train.csv"
SMALL = {
    "constant": {"max_tokens": 2, "top_k": 16, "start_prompts": 2},
    "retrieval": {"k": 3},
    "regression": {"epochs": 2, "hidden": 16},
    "blend": {"parts": [{"kind": "retrieval", "k": 3}, {"kind": "regression", "epochs": 2}], "invert": {"steps": 1}},
    "fewshot": {"shots": 1},
}


@pytest.fixture(scope="module")
def data(minilm):
    rows = pd.read_csv(DEMO, dtype=str).head(24)
    features = Features.of(rows, minilm)
    return features, Context(minilm, bank_of(features))


def test_every_kind_is_in_the_contract_table():
    assert set(SMALL) | {"finetuned"} == set(PREDICTORS)


@pytest.mark.parametrize("kind", sorted(PREDICTORS))
def test_contract(kind, data, request):
    features, ctx = data
    cls = PREDICTORS[kind]
    if kind == "finetuned":  # a real adapter folder (trained on toy rows); the answers come from a script
        SMALL[kind] = {"adapter": str(request.getfixturevalue("trained").out)}
    member = cls.from_table(SMALL.get(kind, {}))
    assert isinstance(member.config, cls.Config)
    with pytest.raises(ConfigError, match=r"unknown setting 'not_a_setting'; known: "):
        cls.from_table({**SMALL.get(kind, {}), "not_a_setting": 1})
    member.fit(features, ctx)
    if kind in ("fewshot", "finetuned"):
        member.llm = ScriptedLLM(lambda request, config: "turning it into a poem")
    if kind == "finetuned":  # requests are rendered with the base model's tokenizer
        from transformers import AutoTokenizer

        member.llm.tokenizer = AutoTokenizer.from_pretrained(request.getfixturevalue("tiny_lm"))
    rows = features.subset(np.arange(6))
    out = member.predict(rows, ctx)
    assert len(out) == 6 and all(isinstance(s, str) and s.strip() for s in out)
    again = cls.from_table(member.to_table())
    assert again.config == member.config
    again.load_state(member.state(), member.arrays())
    if kind in ("fewshot", "finetuned"):
        again.llm = member.llm
    assert again.predict(rows, ctx) == out


def test_configs_are_frozen_and_typed():
    retrieval = PREDICTORS["retrieval"].from_table({"k": 5, "invert": {"join": 2}})
    assert to_table(retrieval.config)["invert"]["join"] == 2
    with pytest.raises(AttributeError):
        retrieval.config.k = 3  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"k: expected a whole number, got '5'"):
        PREDICTORS["retrieval"].from_table({"k": "5"})
    with pytest.raises(ConfigError, match=r"invert: unknown setting 'joins'; known: join, pool, join_trials, steps"):
        PREDICTORS["retrieval"].from_table({"invert": {"joins": 2}})
    with pytest.raises(ConfigError, match=r"match: 'text' is not one of 'edit', 'prompt'"):
        PREDICTORS["retrieval"].from_table({"match": "text"})
    with pytest.raises(ConfigError, match=r"k must be >= 1"):
        PREDICTORS["retrieval"].from_table({"k": 0})


def test_a_misspelled_member_setting_fails_before_any_work(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('[[member]]\nkind = "retrieval"\nkk = 20\n')
    with pytest.raises(ConfigError, match=r"member 1 \(retrieval\): unknown setting 'kk'; known: k, match, invert"):
        PipelineConfig.from_toml(config)
    data = tmp_path / "train.csv"
    pd.read_csv(DEMO, dtype=str).to_csv(data, index=False)
    res = CliRunner().invoke(app, ["train", str(data), "--out", str(tmp_path / "m"), "--config", str(config)])
    assert res.exit_code == 2 and "unknown setting 'kk'; known: k, match, invert" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "m").exists()


def test_fewshot_refuses_credentials_that_would_be_saved_with_the_model():
    with pytest.raises(ConfigError, match=r"base_url must not hold credentials.*PROMPT_RECOVERY_API_KEY"):
        PREDICTORS["fewshot"].from_table({"llm": "openai", "base_url": "http://me:secret@127.0.0.1:8080/v1"})
