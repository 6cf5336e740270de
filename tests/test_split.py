"""The validation split: random rows and whole prompt groups, seeded and exact."""

import numpy as np

from prompt_recovery.split import validation_split


def data(n=120, kinds=6, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((kinds, dim))
    kind = np.arange(n) % kinds
    vectors = centres[kind] + 0.01 * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    prompts = [f"kind {k} prompt {i}" for i, k in enumerate(kind)]
    return prompts, vectors.astype(np.float32), kind


def test_random_split_is_the_seeded_permutation():
    prompts, vectors, _ = data()
    val, train = validation_split(prompts, vectors, 20, 0.0, seed=0)
    expected = np.random.default_rng(0).permutation(120)
    assert val.tolist() == sorted(expected[:20]) and train.tolist() == sorted(expected[20:])


def test_grouped_rows_are_whole_groups_of_prompts_the_training_rows_lack():
    prompts, vectors, kind = data()
    val, train = validation_split(prompts, vectors, 40, 0.5, seed=0, groups=6)
    again = validation_split(prompts, vectors, 40, 0.5, seed=0, groups=6)
    assert len(val) == 40 and not set(val) & set(train) and len(val) + len(train) == 120
    assert val.tolist() == again[0].tolist()
    unseen = set(kind[val]) - set(kind[train])
    assert unseen, "at least one kind of prompt appears only in validation"
    assert sum(kind[i] in unseen for i in val) >= 20
    assert validation_split(prompts, vectors, 0, 0.5, seed=0)[0].size == 0
