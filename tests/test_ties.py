"""The tie rule (metric.best_index / beats / rank) and every place that compares candidates, tested with
a fake embedder that holds exact vectors, so no float luck decides a result."""

import numpy as np
import pytest

from prompt_recovery.banks import PromptBank
from prompt_recovery.metric import TIE_TOLERANCE, beats, best_index, rank
from prompt_recovery.pipeline import choose_ensemble
from prompt_recovery.predictors.invert import greedy_join


class ExactEmbedder:
    """encode() looks strings up in a table of exact unit vectors, adding ``noise`` * (call number) to
    the first coordinate: the same string scores a little differently in each call, as a real encoder
    does across batch shapes and thread counts."""

    def __init__(self, table: dict[str, np.ndarray], noise: float = 0.0) -> None:
        self.table = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in table.items()}
        self.noise = noise
        self.calls = 0

    def encode(self, texts, use_cache=True, **_):
        self.calls += 1
        out = np.stack([self.table[t] for t in texts]).astype(np.float32)
        out[:, 0] += self.noise * (1 if self.calls % 2 else -1)
        return out


def test_best_index_prefers_the_earlier_of_near_equal_scores():
    assert best_index([0.5, 0.7, 0.7 + TIE_TOLERANCE / 2, 0.6]) == 1
    assert best_index([0.5, 0.7 + TIE_TOLERANCE / 2, 0.7, 0.6]) == 1
    assert best_index([0.5, 0.7, 0.7 + 3 * TIE_TOLERANCE]) == 2
    assert best_index([-np.inf, np.nan, -np.inf]) == 0
    assert best_index([np.nan, 0.1]) == 1
    with pytest.raises(ValueError):
        best_index([])


def test_beats_needs_more_than_the_tolerance():
    assert not beats(0.5 + TIE_TOLERANCE / 2, 0.5)
    assert beats(0.5 + 2 * TIE_TOLERANCE, 0.5)
    assert beats(0.1, -np.inf)


def test_rank_keeps_input_order_among_ties():
    assert rank([0.3, 0.7 + 4e-7, 0.7, 0.1]) == [1, 2, 0, 3]
    assert rank([0.3, 0.7, 0.7 + 4e-7, 0.1]) == [1, 2, 0, 3]
    assert rank([0.3, 0.7, 0.7, 0.1], limit=2) == [1, 2]


@pytest.mark.parametrize("noise", [0.0, 2e-7, -2e-7])
def test_greedy_join_breaks_an_exact_tie_by_candidate_order(noise):
    # target = unit(a + b): "a" and "b" score exactly the same alone; the earlier candidate must win,
    # and "a b" (exactly the target) beats both; c is orthogonal and never helps
    a, b, c = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, 1.0])
    table = {"a": a, "b": b, "c": c, "a b": a + b, "b a": a + b, "a c": a + c, "b c": b + c}
    table |= {"a b c": a + b + c, "b a c": a + b + c}
    emb = ExactEmbedder(table, noise)
    target = ((a + b) / np.sqrt(2)).astype(np.float32)
    vectors = np.stack([target, target])
    out = greedy_join(emb, vectors, [["a", "b", "c"], ["b", "a", "c"]], join=3)
    assert out == ["a b", "b a"]
    # alone, in another batch, the same answer
    assert greedy_join(emb, vectors[1:], [["b", "a", "c"]], join=3) == ["b a"]
    # one round only: the earlier of the two tied prompts
    assert greedy_join(emb, vectors, [["a", "b"], ["b", "a"]], join=1) == ["a", "b"]
    assert greedy_join(emb, vectors[:1], [[]], join=3) == [""]


def test_greedy_join_scores_the_first_round_from_known_vectors():
    a, b = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    emb = ExactEmbedder({"a b": a + b, "b a": a + b})  # "a" and "b" alone are NOT in its table
    known = {"a": a.astype(np.float32), "b": b.astype(np.float32)}
    out = greedy_join(emb, np.array([[1.0, 0.0]], dtype=np.float32), [["b", "a"]], join=2, known=known)
    assert out == ["a"]  # "a" is the exact target; "a b" scores lower, so the join stops
    assert emb.calls == 1  # round one came from ``known``; only "a b" was encoded


def test_bank_nearest_is_stable_among_equal_scores():
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    bank = PromptBank(["x", "y", "z"], vecs)
    assert bank.nearest(np.array([[1.0, 0.0]], dtype=np.float32), pool=2) == [["x", "z"]]
    noisy = np.array([[1.0, 1e-7]], dtype=np.float32)
    assert bank.nearest(noisy / np.linalg.norm(noisy), pool=2) == [["x", "z"]]


def test_choose_ensemble_uses_the_tie_rule():
    scores = {"constant": 0.1, "retrieval": 0.3, "blend": 0.3 + TIE_TOLERANCE / 2}
    joins = {
        ("retrieval", "constant"): 0.2,
        ("retrieval", "blend"): 0.3 + TIE_TOLERANCE / 3,  # a tie with retrieval alone: not taken
    }
    order, best = choose_ensemble(scores, lambda o: joins[tuple(o)], list(scores))
    assert order == ["retrieval"] and best == 0.3
    joins[("retrieval", "blend")] = 0.31
    joins[("retrieval", "blend", "constant")] = 0.31
    order, best = choose_ensemble(scores, lambda o: joins[tuple(o)], list(scores))
    assert order == ["retrieval", "blend"] and best == 0.31


def test_join_trials_encode_only_the_estimated_best_joins():
    # word-level "tokens"; E is additive, so the pooled estimate is exact here and must pick the same
    a, b, c, d = (np.eye(4)[k] for k in range(4))
    table = {"a": a, "b": b, "c": c, "d": d, "a b": a + b, "a c": a + c, "a d": a + d}
    emb = ExactEmbedder(table)
    emb.tokenizer = type("Words", (), {"encode_plain": staticmethod(lambda text: text.split())})()
    target = (2 * a + b + 0.2 * c) / np.linalg.norm(2 * a + b + 0.2 * c)
    known = {k: v / np.linalg.norm(v) for k, v in table.items() if " " not in k}
    full = greedy_join(emb, target[None].astype(np.float32), [["a", "b", "c", "d"]], join=2, known=known)
    calls = emb.calls
    pruned = greedy_join(emb, target[None].astype(np.float32), [["a", "b", "c", "d"]], 2, known, trials=1)
    assert full == pruned == ["a b"]
    assert emb.calls - calls == 1  # one encode call, of one string ("a b"), instead of three
