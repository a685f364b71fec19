"""A deterministic implicit-ALS fit: fixed seed, solver threads that cannot change the result, one BLAS thread.

Bit-identical factors across runs are what make the evaluation metrics reproducible. implicit's CPU
solver (conjugate gradient) updates every user, then every item, each from the other side's factors of
the previous half-step only: the solves within a half-step are independent, so splitting them over
threads changes their order, never their values (checked: 1 vs 2 threads bit-identical on generated
data with 10M events, 20.7 s vs 10.3 s). OpenBLAS, which computes the shared Y^T Y, may split its sums
differently with the thread count, so it stays pinned to one thread.

The matrix is re-weighted first (``weight_matrix``): raw interaction weights let a wholesale customer's
big quantities dominate the loss; BM25 (idf over products, length norm over customers, the weighting
implicit's own examples use) or log1p damp that. Which one, with which ALS settings, was chosen on the
validation split of the real data (benchmarks/reports/recommender_real.md). Its cost is a few passes
over the stored values, a rounding error next to the fit (the benchmark measures the ratio).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import bm25_weight
from threadpoolctl import threadpool_limits

from hashiramart_assets.ml.recommender.params import RecommenderParams

SOLVER_THREADS = 0  # implicit's 0: one per core


def make_als(params: RecommenderParams, num_threads: int = SOLVER_THREADS) -> AlternatingLeastSquares:
    return AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=params.alpha,
        iterations=params.iterations,
        random_state=params.seed,
        num_threads=num_threads,
    )


def weight_matrix(user_items: sp.spmatrix, params: RecommenderParams) -> sp.csr_matrix:
    """The customer x product matrix ALS fits on, float32 CSR, re-weighted by ``params.als_weighting``.

    * "none": the values as given;
    * "log": log1p of each stored value (a 10x bigger weight counts about 2-3x, not 10x);
    * "bm25": implicit's ``bm25_weight`` with rows as documents: each value becomes
      ``v * (K1 + 1) / (K1 * norm_u + v) * idf_i`` with ``norm_u = 1 - B + B * row_sum_u / mean row sum`` and
      ``idf_i = log(n_customers) - log1p(buyers of i)``, so heavy customers and ubiquitous products weigh less.
    """
    matrix = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    if params.als_weighting == "log":
        matrix.data = np.log1p(matrix.data)
    elif params.als_weighting == "bm25":
        matrix = bm25_weight(matrix, K1=params.bm25_k1, B=params.bm25_b).tocsr()
    return matrix.astype(np.float32)


def fit_als(
    user_items: sp.csr_matrix, params: RecommenderParams, num_threads: int = SOLVER_THREADS
) -> tuple[np.ndarray, np.ndarray]:
    """(user_factors, item_factors) as float32 arrays fitted on the customer x product weight matrix,
    re-weighted by ``weight_matrix`` first."""
    matrix = weight_matrix(user_items, params)
    with threadpool_limits(limits=1, user_api="blas"):  # before construction: implicit checks BLAS threads there
        model = make_als(params, num_threads)
        model.fit(matrix, show_progress=False)
    return np.ascontiguousarray(model.user_factors), np.ascontiguousarray(model.item_factors)
