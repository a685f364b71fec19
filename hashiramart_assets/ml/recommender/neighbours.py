"""Nearest-neighbour customers' history, the "KNN" half of TIFU-KNN, for next-basket recommendation.

A customer's own decayed purchase frequencies (``TrainingData.history``) only repeat what they already
buy. Blending in the mean history of the customers who buy most like them adds what such customers also
re-buy, and in next-basket studies (Hu et al., TIFU-KNN, SIGIR 2020; Li et al., "A Next Basket
Recommendation Reality Check", TOIS 2023) that blend beats plain repurchase. This module computes only
the neighbour part; it is pure (sparse matrix in, dense scores out) so it can be tested and tuned alone.

Cost: similarities are computed for a block of requested customers at a time, as a sparse product with
all customers, then densified, so memory is ``block_rows x n_customers`` float64 (1,024 x 6,000 = 49 MB),
never ``n_customers x n_customers``. Measured pinned to one core (while another job shared the machine): all
rows of a random 6,000 x 4,000 matrix at 1% density, k=50, 1.1-1.8 s.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Similarities are rounded to this many decimals before ranking: cosines that are equal in exact arithmetic
# (from [1, 1, 1] to [0, 1, 1] and to [3, 0, 3], both sqrt(2/3)) can differ in the last bit, and the tie
# must go to the lower row index, not to rounding noise. 1e-12 is far above float64 noise on values in
# [-1, 1] and far below any real difference in taste.
_SIMILARITY_DECIMALS = 12


def l2_normalise_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its Euclidean norm (all-zero rows stay zero), so a dot product is a cosine and
    a heavy buyer's vector weighs no more than a light buyer's in a neighbour mean."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    matrix.data *= np.repeat(scale, np.diff(matrix.indptr))
    return matrix


def _row_max_scale(values: np.ndarray) -> np.ndarray:
    """Each row of ``values`` divided in place by its maximum; rows whose maximum is <= 0 become zeros.

    Same rule as ``model.row_max_scale``, repeated here so this module stays import-light (no ALS) and
    ``model`` can import it without a cycle.
    """
    if values.shape[1] == 0:
        return values
    top = values.max(axis=1, keepdims=True)
    np.divide(values, top, out=values, where=top > 0)  # in place: the block is already a fresh array
    values[top[:, 0] <= 0] = 0.0
    return values


def _neighbour_weights(similarity: np.ndarray, k: int) -> sp.csr_matrix:
    """Row-stochastic weights: 1/m on each of a row's m <= k best columns with similarity > 0, else 0.

    The k-th best similarity is found by partition (no full sort); columns above it plus the
    lowest-numbered columns tied at it are kept, the same tie rule as ``Recommender._top_k``.
    """
    n_cols = similarity.shape[1]
    k = min(k, n_cols)
    kth = np.partition(similarity, n_cols - k, axis=1)[:, n_cols - k : n_cols - k + 1]
    kth = np.maximum(kth, 0.0)  # fewer than k similarities > 0: keep all of those, nothing at or below 0
    better = similarity > kth
    ties = (similarity == kth) & (kth > 0)
    needed = k - better.sum(axis=1, keepdims=True)
    crowded = np.flatnonzero(ties.sum(axis=1) > needed[:, 0])  # more ties than places left: few rows
    if len(crowded):
        ties[crowded] &= np.cumsum(ties[crowded], axis=1) <= needed[crowded]  # lowest indices win
    weights = sp.csr_matrix(better | ties, dtype=np.float64)
    found = np.diff(weights.indptr)
    weights.data /= np.repeat(np.maximum(found, 1), found)
    return weights


class NeighbourIndex:
    """The L2-normalised history and its transpose, built once per fitted model.

    Why: building them is O(nnz) of the whole history, and it was the whole cost of scoring one customer
    (about 40 ms at 53,000 customers x 5,000 products, every request); the similarity of one customer
    with all others is then a sparse row product. ``history`` is kept to tell whether the index still
    belongs to a model's data.
    """

    def __init__(self, history: sp.csr_matrix) -> None:
        self.history = history
        self.normed = l2_normalise_rows(history)
        self.normed_t = self.normed.T.tocsr()  # once, not per block (csr @ csc would convert it every time)

    def scores(self, rows: np.ndarray, k: int, exclude_self: bool = True, *, block_rows: int = 1024) -> np.ndarray:
        """``neighbour_scores`` of ``rows`` (see there) on this index."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise TypeError(f"k must be an integer, got {k!r}")
        if k < 1:
            raise ValueError(f"k must be >= 1 (number of neighbours to average), got {k}")
        if isinstance(block_rows, bool) or not isinstance(block_rows, int | np.integer) or block_rows < 1:
            raise ValueError(f"block_rows must be an integer >= 1, got {block_rows!r}")
        n_customers, n_products = self.history.shape
        rows = np.asarray(rows)
        if rows.ndim != 1:
            raise ValueError(f"rows must be a 1-d array of row indices, got shape {rows.shape}")
        if rows.size == 0:
            return np.zeros((0, n_products), dtype=np.float64)
        if not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(f"rows must hold integer row indices, got dtype {rows.dtype}")
        if rows.min() < 0 or rows.max() >= n_customers:
            raise IndexError(f"rows must lie in [0, {n_customers}), got values from {rows.min()} to {rows.max()}")
        rows = rows.astype(np.intp, copy=False)
        if len(rows) == 1:  # one customer (a serving request): no scipy product, no densified similarity
            return self._one(int(rows[0]), int(k), exclude_self)[None, :]
        out = np.empty((len(rows), n_products), dtype=np.float64)
        for start in range(0, len(rows), block_rows):
            block = rows[start : start + block_rows]
            product = self.normed[block] @ self.normed_t
            np.round(product.data, _SIMILARITY_DECIMALS, out=product.data)  # only the stored values: cheaper
            similarity = product.toarray()
            if exclude_self:
                similarity[np.arange(len(block)), block] = 0.0  # 0 is never a neighbour
            weights = _neighbour_weights(similarity, int(k))
            out[start : start + len(block)] = _row_max_scale((weights @ self.normed).toarray())
        return out

    def _one(self, row: int, k: int, exclude_self: bool) -> np.ndarray:
        """One customer's row, bit for bit what the block path gives it, about ten times faster.

        The sums are accumulated in the order scipy's sparse product uses (the customer's products in index
        order, each product's customers in index order), with ``np.bincount``, so the floats are identical;
        the k best are chosen by partition among the similarities > 0 only, with the same tie rule.
        """
        normed, normed_t = self.normed, self.normed_t
        n_customers, n_products = normed.shape
        similarity = _weighted_rows_sum(normed_t, *_row(normed, row), n_customers)
        candidates = np.flatnonzero(similarity)
        values = np.round(similarity[candidates], _SIMILARITY_DECIMALS)
        keep = values > 0
        if exclude_self:
            keep &= candidates != row
        candidates, values = candidates[keep], values[keep]
        if len(candidates) > k:
            kth = np.partition(values, len(values) - k)[len(values) - k]
            above = values > kth
            tied = np.flatnonzero(values == kth)[: k - int(above.sum())]  # candidates are sorted: lowest first
            above[tied] = True
            candidates = candidates[above]
        if not len(candidates):
            return np.zeros(n_products, dtype=np.float64)
        weights = np.full(len(candidates), 1.0 / len(candidates))
        return _row_max_scale(_weighted_rows_sum(normed, candidates, weights, n_products)[None, :])[0]


def _row(matrix: sp.csr_matrix, row: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, values) of one CSR row, without building a sparse row object."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def _weighted_rows_sum(matrix: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray, width: int) -> np.ndarray:
    """sum_i weights[i] * matrix[rows[i]] as a dense vector, accumulated in scipy's order (rows in the given
    order, each row's columns in index order), so the result equals ``csr(weights at rows) @ matrix``."""
    rows = np.asarray(rows)
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(width, dtype=np.float64)
    # positions of the rows' entries in matrix.data, row after row (no Python loop over rows)
    first = np.cumsum(lengths) - lengths
    positions = np.arange(total) + np.repeat(starts - first, lengths)
    products = np.repeat(np.asarray(weights, dtype=np.float64), lengths) * matrix.data[positions]
    return np.bincount(matrix.indices[positions], weights=products, minlength=width).astype(np.float64, copy=False)


def neighbour_scores(
    history: sp.csr_matrix, rows: np.ndarray, k: int, exclude_self: bool = True, *, block_rows: int = 1024
) -> np.ndarray:
    """For each customer row in ``rows``: mean of the history vectors of its k most similar customers
    (cosine similarity of L2-normalised history rows), each neighbour vector L2-normalised first (TIFU-KNN),
    returned dense, shape (len(rows), n_products), float64, every row scaled so its maximum is 1 (rows with no
    neighbour or no similarity > 0 are all zeros).

    Neighbours are the customers with similarity > 0 (not the customer itself when ``exclude_self``); the
    k best are kept, ties going to the lower row index so the answer never depends on sort internals.
    Fewer than k such customers: the mean is over those found. The neighbour vectors are normalised so one
    heavy buyer does not outweigh the others; the row-max scaling puts the result on the [0, 1] scale of
    the hybrid model's other components.

    ``rows`` are row indices of ``history`` (0 <= row < n_customers; duplicates allowed, output follows
    input order). ``block_rows`` customers are scored at a time, which bounds memory to about
    ``block_rows x n_customers`` float64; the result does not depend on it. Scoring many times on one
    history: build a :class:`NeighbourIndex` once and call its ``scores``.
    """
    return NeighbourIndex(history).scores(rows, k, exclude_self, block_rows=block_rows)
