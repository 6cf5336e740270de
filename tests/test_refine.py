"""Batched refinement (search/batched.py) on the tiny random sentence-t5: faithful scores, the ranker's
algebra, and the fallbacks."""

import copy

import numpy as np
import pytest
import torch

from prompt_recovery.embed import load_embedder
from prompt_recovery.predictors.invert import invert
from prompt_recovery.search import VocabFilter, allowed_token_ids
from prompt_recovery.search.batched import RefineConfig, _Ranker, refine
from prompt_recovery.search.single_tokens import single_token_states

SMALL = VocabFilter(limit=300)
STARTS = ["Rewrite this text as a sea shanty.", "Make it more formal.", "Turn the story into a haiku."]
TARGETS = ["Explain this to a five-year-old.", "Rewrite the email in the voice of a pirate.", "Summarize it."]


@pytest.fixture(scope="module")
def emb(tiny_t5_dir):
    return load_embedder(str(tiny_t5_dir))


def exact(emb, texts, vectors):
    return np.abs(np.einsum("nd,nd->n", emb.encode(texts, use_cache=False), vectors)) ** 3


def test_reported_scores_are_the_strings_scores_and_never_worse(emb, tmp_path):
    vectors = emb.encode(TARGETS)
    out, scores = refine(emb, vectors, STARTS, RefineConfig(steps=3, top_k=8), str(tmp_path), SMALL)
    np.testing.assert_allclose(scores, exact(emb, out, vectors), atol=1e-5)
    assert (scores >= exact(emb, STARTS, vectors) - 1e-6).all()
    assert any(o != s for o, s in zip(out, STARTS, strict=True))  # a random encoder still moves
    for o, s in zip(out, STARTS, strict=True):  # an unimproved row keeps its start string verbatim
        assert o == s or o != emb.tokenizer.decode(emb.tokenizer.encode_plain(s))


def test_more_steps_never_score_lower_and_rows_are_independent(emb, tmp_path):
    vectors = emb.encode(TARGETS)
    few_texts, few = refine(emb, vectors, STARTS, RefineConfig(steps=1, top_k=8), str(tmp_path), SMALL)
    _, many = refine(emb, vectors, STARTS, RefineConfig(steps=4, top_k=8, patience=2), str(tmp_path), SMALL)
    assert (many >= few - 1e-6).all()
    one, one_score = refine(emb, vectors[1:2], STARTS[1:2], RefineConfig(steps=1, top_k=8), str(tmp_path), SMALL)
    assert one == few_texts[1:2]
    assert one_score[0] == pytest.approx(few[1], abs=1e-5)


def test_ranker_matches_the_heads_own_computation(emb, tmp_path):
    allowed = allowed_token_ids(emb.tokenizer, SMALL)
    states = single_token_states(emb, tmp_path)[allowed]
    ranker = _Ranker(emb, states, allowed)
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
        refine(odd, vectors, STARTS, RefineConfig(steps=1), str(tmp_path), SMALL)
    bank_vecs = odd.encode(STARTS, use_cache=False)
    joined = invert(odd, vectors, STARTS, bank_vecs, steps=0, join=2, pool=3)
    assert invert(odd, vectors, STARTS, bank_vecs, steps=2, join=2, pool=3, cache_dir=str(tmp_path)) == joined


def test_config_refuses_moves_the_estimate_cannot_serve():
    with pytest.raises(ValueError, match="subset"):
        RefineConfig(moves=("append", "insert"))
    with pytest.raises(ValueError, match="subset"):
        RefineConfig(moves=())


def test_a_full_anchor_keeps_the_joins_and_no_anchor_moves_them(emb, tmp_path):
    vectors = emb.encode(TARGETS, use_cache=False)
    bank_vecs = emb.encode(STARTS, use_cache=False)
    joined = invert(emb, vectors, STARTS, bank_vecs, steps=0, join=2, pool=3)
    free = invert(emb, vectors, STARTS, bank_vecs, steps=2, join=2, pool=3, cache_dir=str(tmp_path))
    assert free != joined
    # unit(v + 1e6 * E(joined)) is E(joined) itself: the joined string already fits it, nothing beats it
    held = invert(emb, vectors, STARTS, bank_vecs, steps=2, join=2, pool=3, cache_dir=str(tmp_path), anchor=1e6)
    assert held == joined
