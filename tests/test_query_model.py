"""Regression as a query model (``loss = "contrastive"``, ``vote``): settings checked early, unit float32
output, the InfoNCE term ranking each training row's own prompt first in the bank (better than the
metric loss alone and than an untrained head), ``vote`` equal to a hand-computed bank mean, and a
save/load round trip that predicts the same vectors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prompt_recovery.banks import PromptBank
from prompt_recovery.errors import ConfigError
from prompt_recovery.pipeline import bank_of
from prompt_recovery.predictors import PREDICTORS, Context, Features
from prompt_recovery.predictors.base import unit

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "train.csv"
Regression = PREDICTORS["regression"]
SMALL = {"epochs": 20, "hidden": 64}  # 56 rows: one batch an epoch, 20 optimiser steps


@pytest.fixture(scope="module")
def data(minilm):
    rows = pd.read_csv(DEMO, dtype=str)  # 56 rows, 56 distinct prompts: each its own bank row
    features = Features.of(rows, minilm)
    ctx = Context(minilm, bank_of(features))
    assert len(ctx.bank) == len(rows)
    return features, ctx, ctx.bank.index(rows["rewrite_prompt"])


def fitted(data, **settings):
    features, ctx, _ = data
    member = Regression.from_table({**SMALL, **settings})
    member.fit(features, ctx)
    return member


def margins(vectors: np.ndarray, bank: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """cos(output, own prompt) - max cos(output, any other bank prompt), per row [N]."""
    sims = vectors @ bank.T
    own = sims[np.arange(len(truth)), truth]
    sims[np.arange(len(truth)), truth] = -np.inf
    return own - sims.max(axis=1)


def test_settings_are_checked_early():
    member = Regression.from_table({"loss": "contrastive", "temperature": 1, "vote": 20})
    assert member.config.temperature == 1.0 and member.config.vote == 20
    default = Regression.from_table({})
    assert (default.config.loss, default.config.temperature, default.config.vote) == ("metric", 0.05, 0)
    with pytest.raises(ConfigError, match=r"loss: 'contrastiv' is not one of 'metric', 'contrastive'"):
        Regression.from_table({"loss": "contrastiv"})
    with pytest.raises(ConfigError, match=r"temperature must be > 0, got 0.0"):
        Regression.from_table({"temperature": 0})
    with pytest.raises(ConfigError, match=r"temperature must be > 0, got -0.1"):
        Regression.from_table({"temperature": -0.1})
    with pytest.raises(ConfigError, match=r"vote must be >= 0 .*got -1"):
        Regression.from_table({"vote": -1})
    with pytest.raises(ConfigError, match=r"vote: expected a whole number, got 2.5"):
        Regression.from_table({"vote": 2.5})
    with pytest.raises(ConfigError, match=r"unknown setting 'votes'; known: .*loss, temperature, vote, invert"):
        Regression.from_table({"votes": 3})
    with pytest.raises(ValueError, match=r"loss must be 'metric' or 'contrastive', got 'infonce'"):
        Regression.Config(loss="infonce")  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", ["mlp", "attention"])
def test_contrastive_predicts_unit_float32_vectors(data, arch):
    features, ctx, _ = data
    member = fitted(data, loss="contrastive", arch=arch, epochs=3)
    vectors = member.predict_vectors(features.subset(np.arange(7)), ctx)
    assert vectors.shape == (7, features.prompt.shape[1]) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_contrastive_ranks_the_own_prompt_first(data):
    features, ctx, truth = data
    bank = ctx.bank.vectors
    trained = margins(fitted(data, loss="contrastive").predict_vectors(features, ctx), bank, truth)
    untrained = margins(fitted(data, loss="contrastive", max_steps=1).predict_vectors(features, ctx), bank, truth)
    metric = margins(fitted(data, loss="metric").predict_vectors(features, ctx), bank, truth)
    assert (trained > 0).mean() >= 0.9  # the own prompt is the nearest bank row for most training rows
    assert (untrained > 0).mean() <= 0.5
    # the InfoNCE term pushes the other prompts away: a wider margin than the metric loss alone
    assert trained.mean() > 1.5 * metric.mean() > 0


def test_contrastive_needs_every_training_prompt_in_the_bank(data):
    features, ctx, _ = data
    partial = PromptBank(ctx.bank.texts[1:], ctx.bank.vectors[1:])
    with pytest.raises(ValueError, match=r"1 training prompt\(s\) are not in the bank"):
        Regression.from_table({**SMALL, "loss": "contrastive"}).fit(features, Context(ctx.embedder, partial))
    empty = PromptBank([], np.zeros((0, 0), dtype=np.float32))
    with pytest.raises(ValueError, match=r"bank is empty"):
        Regression.from_table({**SMALL, "loss": "contrastive"}).fit(features, Context(ctx.embedder, empty))


def test_vote_is_the_mean_of_the_bank_vectors_nearest_the_output(data):
    features, ctx, _ = data
    member = fitted(data, loss="contrastive", vote=5)
    raw = Regression.from_table({**SMALL, "loss": "contrastive"})  # same weights, vote = 0
    raw.load_state(member.state(), member.arrays())
    rows = features.subset(np.arange(10))
    query = raw.predict_vectors(rows, ctx)
    expected = []
    for q in query:  # by hand: the 5 most similar bank rows, earlier row first on a tie
        sims = [round(float(s), 6) for s in ctx.bank.vectors @ q]
        near = sorted(range(len(sims)), key=lambda j: (-sims[j], j))[:5]
        mean = ctx.bank.vectors[near].mean(axis=0)
        expected.append(mean / np.linalg.norm(mean))
    voted = member.predict_vectors(rows, ctx)
    assert voted.dtype == np.float32
    np.testing.assert_allclose(voted, np.array(expected), atol=1e-6)
    assert not np.allclose(voted, query)
    # no dependence on the batch: one row alone gets the same vector
    np.testing.assert_array_equal(member.predict_vectors(features.subset(np.arange(3, 4)), ctx), voted[3:4])
    # more votes than bank rows: the mean of the whole bank
    everything = Regression.from_table({**SMALL, "loss": "contrastive", "vote": 1000})
    everything.load_state(member.state(), member.arrays())
    np.testing.assert_allclose(everything.predict_vectors(rows, ctx)[0], unit(ctx.bank.vectors.mean(0)), atol=1e-6)


@pytest.mark.parametrize("vote", [0, 3])
def test_save_and_load_predict_the_same_vectors(data, vote):
    features, ctx, _ = data
    member = fitted(data, loss="contrastive", vote=vote, epochs=3)
    again = Regression.from_table(member.to_table())
    assert again.config == member.config
    again.load_state(member.state(), member.arrays())
    rows = features.subset(np.arange(8))
    np.testing.assert_array_equal(again.predict_vectors(rows, ctx), member.predict_vectors(rows, ctx))


def test_fits_are_deterministic(data):
    features, ctx, _ = data
    one = fitted(data, loss="contrastive", epochs=3).predict_vectors(features, ctx)
    two = fitted(data, loss="contrastive", epochs=3).predict_vectors(features, ctx)
    np.testing.assert_array_equal(one, two)
