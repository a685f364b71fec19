"""Neighbour scores (the KNN half of TIFU-KNN): hand-worked small cases and a brute-force cross-check.

Expected numbers are worked out by hand in the comments; a = 1/sqrt(2) ~ 0.7071 throughout.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from hashiramart_assets.ml.recommender.neighbours import NeighbourIndex, neighbour_scores

A = 1 / math.sqrt(2)

# customer 0 = [1,0,0], 1 = [1,1,0], 2 = [0,0,1], 3 = [2,2,0]
# L2-normalised: 0 = [1,0,0], 1 = [a,a,0], 2 = [0,0,1], 3 = [a,a,0]
# cosines: (0,1) = a, (0,3) = a, (1,3) = 1, every pair with customer 2 = 0
HISTORY = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [2, 2, 0]], dtype=np.float64))


def _scores(rows: list[int], k: int, **kwargs) -> np.ndarray:
    return neighbour_scores(HISTORY, np.array(rows), k, **kwargs)


def test_k1_tie_goes_to_the_lower_row_index():
    # row 0: customers 1 and 3 both at cosine a -> 1 (lower index) -> normalised [a,a,0] -> max-scaled [1,1,0]
    # row 1: customer 3 at cosine 1 beats customer 0 at a -> [a,a,0] -> [1,1,0]
    out = _scores([0, 1], k=1)
    np.testing.assert_allclose(out, [[1, 1, 0], [1, 1, 0]])
    assert out.shape == (2, 3) and out.dtype == np.float64


def test_tie_is_decided_by_row_index_not_by_float_noise():
    # customer 0 = [1,1,1]; 1 = [0,1,1]; 2 = [3,0,3] (not proportional to 1)
    # cos(0,1) = 2 / (sqrt3 sqrt2) = sqrt(2/3); cos(0,2) = 6 / (sqrt3 sqrt18) = 2 / sqrt6 = sqrt(2/3): a tie,
    # though in float64 cos(0,2) comes out one ulp larger. k=1 -> customer 1 -> [0,a,a] -> [0,1,1]
    # (customer 2 would give [a,0,a] -> [1,0,1]).
    history = sp.csr_matrix(np.array([[1, 1, 1], [0, 1, 1], [3, 0, 3]], dtype=np.float64))
    np.testing.assert_allclose(neighbour_scores(history, np.array([0]), 1), [[0, 1, 1]])


def test_mean_over_two_neighbours():
    # row 1, k=2: customer 3 (cosine 1) and customer 0 (cosine a); customer 2 (cosine 0) is no neighbour
    # mean of [a,a,0] and [1,0,0] = [(1+a)/2, a/2, 0] ~ [0.8536, 0.3536, 0]
    # max-scaled: [1, a/(1+a), 0] = [1, sqrt2 - 1, 0] ~ [1, 0.4142, 0]
    np.testing.assert_allclose(_scores([1], k=2), [[1, math.sqrt(2) - 1, 0]])


def test_neighbour_vectors_are_normalised_so_a_heavy_buyer_does_not_dominate():
    # customer 0 = [1,1,0]; 1 = [10,0,0] (heavy buyer); 2 = [0,1,0]: both at cosine a from customer 0
    # normalised neighbours [1,0,0] and [0,1,0] -> mean [0.5,0.5,0] -> [1,1,0]
    # (a mean of raw vectors, [5,0.5,0] -> [1,0.1,0], would be all heavy buyer)
    history = sp.csr_matrix(np.array([[1, 1, 0], [10, 0, 0], [0, 1, 0]], dtype=np.float64))
    np.testing.assert_allclose(neighbour_scores(history, np.array([0]), 2), [[1, 1, 0]])


def test_k_larger_than_the_similar_customers_averages_those_found():
    # row 0, k=5: only customers 1 and 3 have cosine > 0 -> mean of [a,a,0] twice -> [1,1,0]
    # row 2, k=5: nobody shares a product with customer 2 -> no neighbour -> zeros
    np.testing.assert_allclose(_scores([0, 2], k=5), [[1, 1, 0], [0, 0, 0]])


def test_exclude_self_false_lets_the_customer_be_its_own_neighbour():
    # k=1: row 0 -> itself at cosine 1 -> [1,0,0]
    #      row 2 -> itself, the only cosine > 0 -> [0,0,1]
    #      row 1 -> itself and customer 3 tie at cosine 1 -> itself (lower index) -> [a,a,0] -> [1,1,0]
    np.testing.assert_allclose(_scores([0, 2, 1], k=1, exclude_self=False), [[1, 0, 0], [0, 0, 1], [1, 1, 0]])
    # k=3: row 2 -> still only itself -> [0,0,1]
    #      row 1 -> itself, 3 (cosine 1) and 0 (cosine a) -> mean [(2a+1)/3, 2a/3, 0]
    #      -> max-scaled [1, 2a/(2a+1), 0] = [1, sqrt2/(sqrt2+1), 0] = [1, 2 - sqrt2, 0] ~ [1, 0.5858, 0]
    np.testing.assert_allclose(_scores([2, 1], k=3, exclude_self=False), [[0, 0, 1], [1, 2 - math.sqrt(2), 0]])
    # with exclude_self (the default) row 0, k=1 is customer 1 instead -> [1,1,0]
    np.testing.assert_allclose(_scores([0], k=1), [[1, 1, 0]])


def test_row_order_and_duplicates_follow_the_input():
    out = _scores([2, 1, 1, 0], k=2)
    np.testing.assert_allclose(out, [[0, 0, 0], [1, math.sqrt(2) - 1, 0], [1, math.sqrt(2) - 1, 0], [1, 1, 0]])


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_rejected(k: int):
    with pytest.raises(ValueError, match="k must be >= 1"):
        _scores([0], k=k)


def test_empty_rows_give_an_empty_block():
    for rows in (np.array([], dtype=np.int64), np.array([])):
        out = neighbour_scores(HISTORY, rows, 3)
        assert out.shape == (0, 3) and out.dtype == np.float64


def test_rows_outside_the_matrix_are_rejected():
    with pytest.raises(IndexError):
        _scores([4], k=1)
    with pytest.raises(IndexError):
        _scores([-1], k=1)


def test_history_is_not_modified():
    history = HISTORY.copy()
    neighbour_scores(history, np.arange(4), 2)
    assert (history != HISTORY).nnz == 0


def _random_history(rng: np.random.Generator, n_customers: int, n_products: int) -> sp.csr_matrix:
    """Small integer counts (many exact ties), a few empty customers and copies of other customers."""
    dense = rng.integers(1, 4, (n_customers, n_products)) * (rng.random((n_customers, n_products)) < 0.15)
    dense[rng.choice(n_customers, 3, replace=False)] = 0
    copies = rng.choice(n_customers, 6, replace=False)
    dense[copies[:3]] = dense[copies[3:]] * rng.integers(1, 3, (3, 1))  # identical or proportional rows
    return sp.csr_matrix(dense.astype(np.float64))


@pytest.mark.parametrize("block_rows", [1, 3, 7, 49, 50])
def test_block_size_does_not_change_the_result(block_rows: int):
    history = _random_history(np.random.default_rng(7), 50, 30)
    rows = np.random.default_rng(8).integers(0, 50, 120)  # unsorted, with repeats
    one_block = neighbour_scores(history, rows, 4)
    assert np.array_equal(neighbour_scores(history, rows, 4, block_rows=block_rows), one_block)


def _brute_force(history: sp.csr_matrix, rows: np.ndarray, k: int, exclude_self: bool) -> np.ndarray:
    """The definition, written out on dense arrays with a full sort per customer."""
    dense = history.toarray()
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    normed = dense / np.where(norms > 0, norms, 1.0)
    # same 12-decimal rounding as the module, so cosines equal in exact arithmetic tie here too
    similarity = np.round(normed @ normed.T, 12)
    out = np.zeros((len(rows), dense.shape[1]))
    for i, r in enumerate(rows):
        candidates = [j for j in range(len(dense)) if similarity[r, j] > 0 and not (exclude_self and j == r)]
        chosen = sorted(candidates, key=lambda j: (-similarity[r, j], j))[:k]
        if chosen:
            mean = normed[chosen].mean(axis=0)
            out[i] = mean / mean.max()
    return out


@pytest.mark.parametrize("seed", range(12))
def test_matches_a_brute_force_dense_implementation(seed: int):
    rng = np.random.default_rng(seed)
    history = _random_history(rng, 50, 30)
    k = int(rng.integers(1, 12))
    exclude_self = bool(seed % 2 == 0)
    rows = rng.permutation(50)
    expected = _brute_force(history, rows, k, exclude_self)
    actual = neighbour_scores(history, rows, k, exclude_self, block_rows=int(rng.integers(1, 60)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12)
    assert np.all((actual == 0) | (actual > 0)) and np.allclose(actual.max(axis=1)[actual.any(axis=1)], 1.0)


def test_an_index_built_once_scores_like_the_function_and_one_row_like_a_block():
    history = _random_history(np.random.default_rng(3), 50, 30)
    index = NeighbourIndex(history)
    rows = np.arange(50)
    block = index.scores(rows, 5)
    assert np.array_equal(block, neighbour_scores(history, rows, 5))
    # the one-customer path (a serving request) ranks the same neighbours as the block path, bit for bit
    for row in range(50):
        assert np.array_equal(index.scores(np.array([row]), 5)[0], block[row]), row
    assert np.array_equal(index.scores(np.array([7]), 5, exclude_self=False)[0],
                          neighbour_scores(history, np.array([7, 8]), 5, exclude_self=False)[0])
