"""Top-N lists for many customers at once, for the batch recommendations asset.

Scoring is vectorised per block of customers (a matrix product and one sort per block), never a Python
loop per customer, so all customers of the shop fit in one asset run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from hashiramart_assets.ml.recommender.base import Recommender

BATCH_COLUMNS = ["customer_id", "rank", "product_id", "score", "source"]


def top_n_for_all(
    model: Recommender, customer_ids: Iterable[int] | np.ndarray | pd.Series | None = None, n: int = 10,
    exclude_purchased: bool = False,
) -> pd.DataFrame:
    """customer_id, rank, product_id, score, source for every customer (default: all the model knows)."""
    ids = model.fitted.customer_ids if customer_ids is None else customer_ids
    return model.recommend(ids, k=n, exclude_purchased=exclude_purchased)[BATCH_COLUMNS]
