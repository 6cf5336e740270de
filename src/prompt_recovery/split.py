"""The validation split of ``train``: some rows held out at random, some by whole prompt group.

Rows held out at random have prompts like the training rows' (in-source validation, which flatters);
rows held out by group have prompts of a kind the members never saw, as on rewrites from another
source. The chooser and the ensemble are chosen on both, so they learn what to do when the members
know the kind of prompt and when they do not.

Groups: ``groups`` anchors among the distinct prompts, a seeded first one and then each the prompt
least like the anchors so far (farthest-point sampling), and each row belongs to the anchor nearest its
prompt's embedding (``nearest_rows``: ties to the earlier anchor). Whole groups, in
a seeded order, are held out until ``grouped`` of the validation rows are reached (the last group may
be taken in part); the rest of the validation rows are drawn at random from the other rows.

Example: 100 rows, ``n_val`` 20, ``grouped`` 0.5 -> about 10 rows of one or two whole groups and 10
random rows of the others.
"""

from __future__ import annotations

import numpy as np

from prompt_recovery.predictors.base import nearest_rows


def validation_split(
    prompts: list[str], vectors: np.ndarray, n_val: int, grouped: float, seed: int, groups: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(validation rows, training rows), each a sorted int array. ``vectors`` [N, D] embed ``prompts``."""
    n = len(prompts)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(n)
    if n_val <= 0:
        return np.zeros(0, int), np.arange(n)
    if grouped <= 0:
        return np.sort(shuffled[:n_val]), np.sort(shuffled[n_val:])
    distinct = list(dict.fromkeys(prompts))
    first = {p: i for i, p in reversed(list(enumerate(prompts)))}  # a prompt's first row
    count = groups or int(np.clip(len(distinct) // 25, 4, 64))
    points = vectors[[first[p] for p in distinct]]  # [P, D]
    anchors = [int(rng.integers(len(distinct)))]
    nearest = points @ points[anchors[0]]
    while len(anchors) < min(count, len(distinct)):
        # farthest-point sampling: the next anchor is the prompt least like any anchor so far (ties:
        # the earlier prompt), so the groups cover the kinds of prompt instead of piling up in one
        j = int(np.argmin(np.round(nearest, 6)))
        anchors.append(j)
        nearest = np.maximum(nearest, points @ points[j])
    anchor_vectors = points[anchors]
    group = nearest_rows(vectors, anchor_vectors, 1)[:, 0]  # [N]
    want = round(grouped * n_val)
    held: list[int] = []
    for g in rng.permutation(len(anchors)):
        if len(held) >= want:
            break
        members = [i for i in shuffled if group[i] == g]
        held += members[: want - len(held)]
    taken = set(held)
    rest = [i for i in shuffled if i not in taken and group[i] not in {group[j] for j in held}]
    val = np.array(held + rest[: n_val - len(held)], dtype=int)
    return np.sort(val), np.setdiff1d(np.arange(n), val)
