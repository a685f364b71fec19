"""The partition-based top-k must rank exactly like the stable full sort it replaced (ties, -inf, NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from hashiramart_assets.ml.recommender.base import Recommender


def _stable_full_sort(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize("seed", range(40))
def test_top_k_equals_the_stable_full_sort(seed: int):
    rng = np.random.default_rng(seed)
    rows, cols, k = int(rng.integers(1, 30)), int(rng.integers(1, 200)), int(rng.integers(1, 25))
    # many exact ties (integer scores) on odd seeds, excluded products (-inf) everywhere
    scores = rng.integers(0, 4, (rows, cols)).astype(float) if seed % 2 else rng.random((rows, cols))
    scores[rng.random((rows, cols)) < 0.3] = -np.inf
    items, top = Recommender._top_k(scores, k)
    expected_items, expected_top = _stable_full_sort(scores, k)
    assert np.array_equal(items, expected_items) and np.array_equal(top, expected_top)


def test_ties_go_to_the_lower_product_column_and_nan_falls_back():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    assert Recommender._top_k(scores, 2)[0].tolist() == [[1, 2]]
    with_nan = np.array([[np.nan, 1.0, 2.0]])
    assert Recommender._top_k(with_nan, 2)[0].tolist() == _stable_full_sort(with_nan, 2)[0].tolist()
