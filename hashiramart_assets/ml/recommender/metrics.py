"""Top-k ranking metrics as plain functions over one ranked list (or all lists, for coverage/novelty).

Binary relevance throughout: an item is relevant if the customer bought it in the holdout.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence


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
