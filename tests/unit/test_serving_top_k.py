"""The serving scorer's partial top-k is the prefix of a full stable sort, ties and excluded items included."""

from __future__ import annotations

import numpy as np
import pytest

from serving.recommend import top_k_stable


@pytest.mark.parametrize("seed", range(20))
def test_top_k_stable_equals_the_full_stable_sort(seed: int):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 300).astype(np.float64) / 5  # many exact ties
    scores[rng.choice(300, 40, replace=False)] = -np.inf  # excluded (already bought)
    for k in (1, 2, 10, 99, 299, 300, 400):
        assert np.array_equal(top_k_stable(scores, k), np.argsort(-scores, kind="stable")[:k]), k
