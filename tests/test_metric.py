import numpy as np
import pytest

from prompt_recovery.metric import cosine_rows, row_scores, scs, summarize


def test_row_scores_match_plain_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 16)), rng.normal(size=(50, 16))
    ref = np.abs((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)) ** 3
    np.testing.assert_allclose(row_scores(a, b), ref, rtol=1e-5)
    assert row_scores(a, b).dtype == np.float32


def test_hand_worked_three_rows():
    # cos = 1, 0.5, -0.5  ->  |cos|^3 = 1, 0.125, 0.125 (mean 0.41667); signed: 1, 0.125, -0.125
    truth = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    pred = np.array([[2.0, 0.0], [0.5, np.sqrt(3) / 2], [-0.5, np.sqrt(3) / 2]])
    np.testing.assert_allclose(cosine_rows(pred, truth), [1.0, 0.5, -0.5], atol=1e-6)
    np.testing.assert_allclose(row_scores(pred, truth), [1.0, 0.125, 0.125], atol=1e-6)
    np.testing.assert_allclose(row_scores(pred, truth, signed=True), [1.0, 0.125, -0.125], atol=1e-6)
    assert summarize(row_scores(pred, truth)).mean == pytest.approx(1.25 / 3, abs=1e-6)


def test_zero_vector_scores_zero_not_nan():
    assert scs(cosine_rows(np.zeros((1, 3)), np.ones((1, 3))))[0] == 0.0


def test_bootstrap_ci_brackets_mean_and_is_repeatable():
    scores = np.random.default_rng(1).uniform(size=300)
    s1, s2 = summarize(scores, seed=3), summarize(scores, seed=3)
    assert s1 == s2
    assert s1.ci_low < s1.mean < s1.ci_high
    assert s1.n == 300
    # the CI of a constant is that constant
    c = summarize(np.full(10, 0.25))
    assert c.ci_low == pytest.approx(0.25) and c.ci_high == pytest.approx(0.25)


def test_weighted_mean():
    s = summarize(np.array([0.0, 1.0]), weights=np.array([3.0, 1.0]))
    assert s.mean == pytest.approx(0.25)
