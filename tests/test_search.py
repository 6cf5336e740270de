"""Token search on a tiny random sentence-t5 (real T5 vocabulary, tf tokenization)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.decency import is_profane_word, profane_words
from prompt_recovery.embed import load_embedder
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.search import MeanSCS, SearchConfig, TargetSCS, VocabFilter, allowed_token_ids, search

PROMPTS = [
    "Rewrite this text as a sea shanty.",
    "Make it more formal.",
    "Turn the story into a haiku.",
    "Explain this to a five-year-old.",
    "Rewrite the email in the voice of a pirate.",
    "Summarize the article in two sentences.",
]
SMALL = VocabFilter(limit=400)


@pytest.fixture(scope="module")
def emb(tiny_t5_dir):
    return load_embedder(str(tiny_t5_dir))


@pytest.fixture(scope="module")
def objective(emb):
    return MeanSCS(emb.encode(PROMPTS))


def rescored(emb, objective, text):
    return float(objective.score(emb.encode([text], use_cache=False))[0])


@pytest.mark.parametrize(
    ("proposal", "moves", "beam"),
    [
        ("exhaustive", ("append",), 1),
        ("guided", ("append", "replace", "insert"), 2),
        ("gradient", ("append", "replace"), 1),
        ("pooled", ("append", "insert"), 1),
    ],
)
def test_reported_objective_is_the_scorers(emb, objective, tmp_path, proposal, moves, beam):
    cfg = SearchConfig(
        proposal=proposal,
        moves=moves,
        beam_width=beam,
        max_added_tokens=4,
        top_k=32,
        vocab=SMALL,
    )
    result = search(emb, objective, cfg, init="Rewrite")
    assert result.objective == pytest.approx(rescored(emb, objective, result.text), abs=1e-5)
    for step in result.history:
        assert step.objective == pytest.approx(rescored(emb, objective, step.text), abs=1e-5)
    best = max(result.history, key=lambda step: step.objective)
    assert result.text == best.text  # the result is the best string seen, not merely the last


def test_allowed_vocabulary_has_no_special_tokens(emb, tiny_t5_dir):
    tok = emb.tokenizer
    allowed = set(allowed_token_ids(tok).tolist())
    assert not allowed & tok.special_ids
    assert not {0, 1, 2} & allowed
    assert 30332 in allowed  # lucrarea
    assert all(not tok.piece(i).startswith("<") for i in allowed)
    hf = load_embedder(str(tiny_t5_dir), tokenization="hf")
    hf_allowed = set(allowed_token_ids(hf.tokenizer).tolist())
    assert not {i for i in hf_allowed if i >= 32000}  # no <extra_id_N>
    assert not hf_allowed & {0, 1, 2}


def test_profane_pieces_are_left_out_unless_allowed(emb):
    tok = emb.tokenizer
    default, lifted = (
        set(allowed_token_ids(tok).tolist()),
        set(allowed_token_ids(tok, VocabFilter(allow_profanity=True)).tolist()),
    )
    hell, the = tok.encode_plain("hell"), tok.encode_plain("the")
    assert len(hell) == 1 and hell[0] in lifted and hell[0] not in default
    assert the[0] in default  # an ordinary word stays
    gone = {tok.decode([i]).strip().lower() for i in lifted - default}
    assert {"hell", "kill", "dick"} <= gone and not gone & {"class", "assess", "the", "classes"}
    # inflected forms of listed words are pieces of their own in the vocabulary: blocked too
    inflected = {w for w in gone if w not in profane_words()}
    assert inflected and all(is_profane_word(w) for w in inflected)
    assert 0 < len(lifted - default) < 0.01 * len(lifted)  # the list is small against the vocabulary


def test_results_never_contain_special_tokens_even_when_the_target_does(tiny_t5_dir, tmp_path):
    hf = load_embedder(str(tiny_t5_dir), tokenization="hf")
    target = TargetSCS(hf.encode(["</s> <pad> </s> <extra_id_0>"])[0])
    result = search(hf, target, SearchConfig(proposal="guided", max_added_tokens=3, top_k=64))
    ids = hf.tokenizer.encode([result.text])[0]
    assert ids[-1] == 1 and not set(ids[:-1]) & hf.tokenizer.special_ids


def test_guided_agrees_with_exhaustive_on_a_tiny_encoder(emb, objective, tmp_path):
    common = dict(max_added_tokens=5, vocab=VocabFilter(limit=600), patience=99)
    exhaustive = search(emb, objective, SearchConfig(proposal="exhaustive", **common))
    guided = search(emb, objective, SearchConfig(proposal="guided", top_k=192, **common))
    assert guided.objective >= exhaustive.objective - 0.005
    assert guided.evaluated * 3 < exhaustive.evaluated


def test_resume_continues_where_it_stopped(emb, objective, tmp_path):
    common = dict(proposal="guided", top_k=32, vocab=SMALL, patience=99)
    straight = search(emb, objective, SearchConfig(max_added_tokens=4, **common))
    ckpt = str(tmp_path / "ckpt.json")
    first = search(emb, objective, SearchConfig(max_added_tokens=2, checkpoint=ckpt, **common))
    assert len(first.history) == 3
    resumed = search(emb, objective, SearchConfig(max_added_tokens=4, checkpoint=ckpt, **common))
    # the proposal's memory and position sampler are not checkpointed, so a resumed search need not
    # equal a straight one; it must continue from the saved steps, not start again
    assert [s.text for s in resumed.history[:3]] == [s.text for s in first.history]
    assert len(resumed.history) == len(straight.history) == 5
    assert resumed.objective >= first.objective
    other = MeanSCS(emb.encode(["Something else entirely."]))
    with pytest.raises(PromptRecoveryError, match="another search"):
        search(emb, other, SearchConfig(max_added_tokens=4, checkpoint=ckpt, **common))


def test_time_budget_and_limits(emb, objective, tmp_path):
    out = search(emb, objective, SearchConfig(time_budget=0.0, vocab=SMALL), init="Make it")
    assert out.stopped == "time_budget" and out.text == "Make it"
    capped = search(
        emb,
        objective,
        SearchConfig(max_added_tokens=6, max_model_tokens=5, vocab=SMALL, top_k=16, patience=99),
    )
    assert len(emb.tokenizer.encode([capped.text])[0]) <= 5


def test_config_is_checked():
    with pytest.raises(ValueError, match="moves"):
        SearchConfig(moves=("jump",))


def test_mean_prompt_and_attractors_cli(tiny_t5_dir, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(PROMPTS))
    out = tmp_path / "result.json"
    runner = CliRunner()
    common = [
        "--targets",
        str(targets),
        "--encoder",
        str(tiny_t5_dir),
        "--vocab-limit",
        "300",
        "--cache-dir",
        str(tmp_path),
    ]
    res = runner.invoke(app, ["mean-prompt", *common, "--max-tokens", "3", "--top-k", "32", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["text"] and doc["objective"] > 0 and doc["n_targets"] == len(PROMPTS)
    emb = load_embedder(str(tiny_t5_dir))
    assert doc["objective"] == pytest.approx(rescored(emb, MeanSCS(emb.encode(PROMPTS)), doc["text"]), abs=1e-5)
    res = runner.invoke(app, ["attractors", *common, "--top", "5", "--json"])
    assert res.exit_code == 0, res.output
    ranked = json.loads(res.stdout)
    assert len(ranked) == 5 and ranked[0]["gain"] >= ranked[-1]["gain"]
    res = runner.invoke(app, ["mean-prompt", *common, "--init", "preset:nope"])
    assert res.exit_code == 2 and "unknown preset" in res.output


def test_best_unit_vector_bounds_every_string(emb, objective):
    _, bound = objective.best_unit_vector()
    scores = objective.score(emb.encode([*PROMPTS, "a b c", "lucrarea"]))
    assert bound >= scores.max() - 1e-6
    assert np.isfinite(bound)


def test_central_start_beats_the_best_single_prompt(emb, objective):
    from prompt_recovery.search.start import central_start

    start = central_start(emb, objective, PROMPTS, n=4)
    single = objective.score(emb.encode(PROMPTS)).max()
    assert start and rescored(emb, objective, start) >= single - 1e-6
    assert central_start(emb, objective, PROMPTS, n=0) == ""
