"""Top-k ranking metrics as plain functions over one ranked list (or all lists, for coverage/novelty).

Binary relevance throughout: an item is relevant if the customer bought it in the holdout.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd


def precision_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Hits in the top k divided by k (a short list is not rewarded for being short)."""
    return sum(1 for item in recommended[:k] if item in relevant) / k


def recall_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Hits in the top k divided by the number of relevant items (0 when there are none)."""
    if not relevant:
        return 0.0
    return sum(1 for item in recommended[:k] if item in relevant) / len(relevant)


def ndcg_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """DCG with 1/log2(rank + 1) discounts over the ideal DCG of min(k, |relevant|) hits at the top."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(recommended[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal


def average_precision_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Sum of precision@rank at each hit in the top k, divided by min(k, |relevant|)."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for rank, item in enumerate(recommended[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def catalogue_coverage(lists: Iterable[Sequence[str]], catalogue: Collection[str], k: int) -> float:
    """Share of catalogue products that appear in at least one top-k list."""
    if not catalogue:
        return 0.0
    shown = {item for items in lists for item in items[:k]}
    return len(shown & set(catalogue)) / len(catalogue)


def novelty(lists: Iterable[Sequence[str]], buyers: Mapping[str, int], n_users: int, k: int) -> float:
    """Mean self-information of recommended items, in bits.

    An item's popularity share is (train buyers of the item + 1) / (train customers + 1): add-one
    smoothing keeps never-bought items finite. Novelty is the mean of -log2(share) over every
    recommended (customer, item) pair in the top k; higher means less mainstream recommendations.
    """
    total, count = 0.0, 0
    for items in lists:
        for item in items[:k]:
            total += -math.log2((buyers.get(item, 0) + 1) / (n_users + 1))
            count += 1
    return total / count if count else 0.0


PER_CUSTOMER = ("precision", "recall", "ndcg", "map")


def relevant_pairs(relevant: Mapping[int, Collection[str]]) -> pd.DataFrame:
    """(customer_id, product_id) rows of a customer -> relevant products mapping, customers in its order."""
    customers = list(relevant)
    sizes = [len(relevant[c]) for c in customers]
    return pd.DataFrame({
        "customer_id": np.repeat(np.asarray(customers, dtype=np.int64), sizes),
        "product_id": pd.array([p for c in customers for p in relevant[c]], dtype=object),
    })


def per_customer_at_k(recommended: pd.DataFrame, relevant: pd.DataFrame, k: int) -> pd.DataFrame:
    """precision, recall, ndcg and map at k for each customer of ``relevant`` (in its order), all at once.

    ``recommended``: customer_id, rank (1 = first), product_id; ``relevant``: customer_id, product_id.
    The same numbers as the list functions above (a test compares them on random lists), without a
    Python loop per customer (the evaluation at 10M events scores 8 x ~45k lists; 61.1 s -> 58.2 s).
    Customers with relevant products but no recommendations score 0.
    """
    rel = relevant[["customer_id", "product_id"]].drop_duplicates()
    customers = pd.unique(rel["customer_id"].to_numpy())
    n_relevant = rel.groupby("customer_id", sort=False).size().reindex(customers).to_numpy()
    top = recommended.loc[recommended["rank"] <= k, ["customer_id", "rank", "product_id"]]
    hits = top.merge(rel, on=["customer_id", "product_id"], how="inner").sort_values(["customer_id", "rank"])
    rank = hits["rank"].to_numpy(np.float64)
    nth_hit = hits.groupby("customer_id", sort=False).cumcount().to_numpy() + 1.0
    per_hit = pd.DataFrame({"customer_id": hits["customer_id"].to_numpy(), "hits": 1.0,
                            "gain": 1.0 / np.log2(rank + 1.0), "precision_at_hit": nth_hit / rank})
    sums = per_hit.groupby("customer_id", sort=False).sum().reindex(customers, fill_value=0.0)
    ideal = np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))  # ideal[j - 1]: DCG of j hits at the top
    best = np.minimum(k, n_relevant)
    out = pd.DataFrame({
        "customer_id": customers,
        "precision": sums["hits"].to_numpy() / k,
        "recall": sums["hits"].to_numpy() / n_relevant,
        "ndcg": sums["gain"].to_numpy() / ideal[best - 1],
        "map": sums["precision_at_hit"].to_numpy() / best,
    })
    return out


def coverage_and_novelty(recommended: pd.DataFrame, catalogue: Collection[str], buyers: pd.Series, n_users: int,
                         k: int) -> tuple[float, float]:
    """``catalogue_coverage`` and ``novelty`` of a recommendations frame (``buyers``: train buyers per product)."""
    top = recommended.loc[recommended["rank"] <= k, "product_id"].astype(str)
    shown = set(top.unique())
    coverage = len(shown & set(catalogue)) / len(catalogue) if catalogue else 0.0
    if top.empty:
        return coverage, 0.0
    counts = top.map(buyers).fillna(0).to_numpy(np.float64)
    return coverage, float(np.mean(-np.log2((counts + 1) / (n_users + 1))))
