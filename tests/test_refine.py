"""Batched refinement (search/batched.py) on the tiny random sentence-t5: faithful scores, the ranker's
algebra, and the fallbacks."""

import copy

import numpy as np
import pytest
import torch

from prompt_recovery.banks import PromptBank
from prompt_recovery.embed import load_embedder
from prompt_recovery.predictors.invert import InvertConfig, invert
from prompt_recovery.search import VocabFilter, allowed_token_ids
from prompt_recovery.search.batched import RefineConfig, refine
from prompt_recovery.search.single_tokens import single_token_states
from prompt_recovery.search.space import Ranker

SMALL = VocabFilter(limit=300)
STARTS = ["Rewrite this text as a sea shanty.", "Make it more formal.", "Turn the story into a haiku."]
TARGETS = ["Explain this to a five-year-old.", "Rewrite the email in the voice of a pirate.", "Summarize it."]


@pytest.fixture(scope="module")
def emb(tiny_t5_dir):
    return load_embedder(str(tiny_t5_dir))


def exact(emb, texts, vectors):
    return np.abs(np.einsum("nd,nd->n", emb.encode(texts, use_cache=False), vectors)) ** 3


def test_reported_scores_are_the_strings_scores_and_never_worse(emb):
    vectors = emb.encode(TARGETS)
    result = refine(emb, vectors, STARTS, RefineConfig(steps=3, top_k=8), SMALL)
    out, scores = result.texts, result.scores
    np.testing.assert_allclose(scores, exact(emb, out, vectors), atol=1e-5)
    assert (scores >= exact(emb, STARTS, vectors) - 1e-6).all()
    assert any(o != s for o, s in zip(out, STARTS, strict=True))  # a random encoder still moves
    assert [h.step for h in result.history] == list(range(len(result.history)))
    assert result.history[-1].mean_score == pytest.approx(float(scores.mean()), abs=1e-6)


def test_an_unimproved_row_keeps_its_start_string_verbatim(emb):
    start = "Make  it   more formal."  # extra spaces: its re-tokenized form differs from it
    tok = emb.tokenizer
    assert tok.decode(tok.encode_plain(start)) != start
    target = emb.encode([start], use_cache=False)  # the start is already the exact optimum
    result = refine(emb, target, [start], RefineConfig(steps=2, top_k=8), SMALL)
    assert result.texts == [start]


def test_more_steps_never_score_lower_and_rows_are_independent(emb):
    vectors = emb.encode(TARGETS)
    few = refine(emb, vectors, STARTS, RefineConfig(steps=1, top_k=8), SMALL)
    many = refine(emb, vectors, STARTS, RefineConfig(steps=4, top_k=8, patience=2), SMALL)
    assert (many.scores >= few.scores - 1e-6).all()
    for i in range(3):  # each row alone, in a batch of one, gives the same string
        one = refine(emb, vectors[i : i + 1], STARTS[i : i + 1], RefineConfig(steps=1, top_k=8), SMALL)
        assert one.texts == few.texts[i : i + 1]
        assert one.scores[0] == pytest.approx(few.scores[i], abs=1e-5)


def test_ranker_matches_the_heads_own_computation(emb, tmp_path):
    allowed = allowed_token_ids(emb.tokenizer, SMALL)
    states = single_token_states(emb, tmp_path)[allowed]
    ranker = Ranker(emb, states, allowed)
    rng = np.random.default_rng(0)
    bases = torch.from_numpy(rng.normal(size=(2, states.shape[1])).astype(np.float32))
    targets = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(2, 32)).astype(np.float32)), dim=1)
    got = ranker.scores(bases, targets)
    for p in range(2):
        direct = emb.finish(bases[p] + torch.from_numpy(states)) @ targets[p]
        np.testing.assert_allclose(got[p].numpy(), direct.abs().numpy() ** 3, atol=1e-5)


def test_a_nonlinear_head_is_refused_and_inversion_keeps_its_joins(emb, tmp_path):
    odd = copy.deepcopy(emb)
    odd.dense = torch.nn.Sequential(odd.dense[0], torch.nn.Tanh())
    vectors = odd.encode(TARGETS, use_cache=False)
    with pytest.raises(NotImplementedError, match="linear Dense"):
        refine(odd, vectors, STARTS, RefineConfig(steps=1), SMALL)
    bank = PromptBank(STARTS, odd.encode(STARTS, use_cache=False))
    joined = invert(odd, vectors, bank, InvertConfig(steps=0, join=2, pool=3))
    assert invert(odd, vectors, bank, InvertConfig(steps=2, join=2, pool=3)) == joined


def test_config_refuses_moves_the_estimate_cannot_serve():
    with pytest.raises(ValueError, match="subset"):
        RefineConfig(moves=("append", "insert"))
    with pytest.raises(ValueError, match="subset"):
        RefineConfig(moves=())


def test_a_full_anchor_keeps_the_joins_and_no_anchor_moves_them(emb):
    vectors = emb.encode(TARGETS, use_cache=False)
    bank = PromptBank(STARTS, emb.encode(STARTS, use_cache=False))
    joined = invert(emb, vectors, bank, InvertConfig(steps=0, join=2, pool=3))
    free = invert(emb, vectors, bank, InvertConfig(steps=2, join=2, pool=3))
    assert free != joined
    # unit(v + 1e6 * E(joined)) is E(joined) itself: the joined string already fits it, nothing beats it
    held = invert(emb, vectors, bank, InvertConfig(steps=2, join=2, pool=3, anchor=1e6))
    assert held == joined
