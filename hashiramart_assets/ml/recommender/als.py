"""A deterministic implicit-ALS fit: fixed seed, one solver thread, one BLAS thread.

implicit's multi-threaded solver updates factors in a data-dependent order and OpenBLAS may split sums
differently per run, so both are pinned to one thread; with a fixed ``random_state`` the factors are
then bit-identical across runs, which is what makes the evaluation metrics reproducible.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from hashiramart_assets.ml.recommender.params import RecommenderParams


def make_als(params: RecommenderParams) -> AlternatingLeastSquares:
    return AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=params.alpha,
        iterations=params.iterations,
        random_state=params.seed,
        num_threads=1,
    )


def fit_als(user_items: sp.csr_matrix, params: RecommenderParams) -> tuple[np.ndarray, np.ndarray]:
    """(user_factors, item_factors) as float32 arrays fitted on the customer x product weight matrix."""
    with threadpool_limits(limits=1, user_api="blas"):  # before construction: implicit checks BLAS threads there
        model = make_als(params)
        model.fit(user_items.astype(np.float32).tocsr(), show_progress=False)
    return np.ascontiguousarray(model.user_factors), np.ascontiguousarray(model.item_factors)
