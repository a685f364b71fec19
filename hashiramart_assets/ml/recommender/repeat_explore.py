"""Repeat vs explore breakdown of top-k accuracy, as in next-basket recommendation research.

Li et al., "A Next Basket Recommendation Reality Check" (ACM TOIS 2023) show that much of a next-basket
model's accuracy can come from re-recommending what the customer already bought, so a single accuracy
number hides whether a model finds anything new. They split each customer's holdout basket T by the
customer's purchase history H (items bought in the training period):

* repeat ground truth ``T_rep = T ∩ H``: items bought again;
* explore ground truth ``T_exp = T \\ H``: items bought for the first time;

and score the *same* recommended list against each part separately. Unlike the evaluation's discovery
mode (``evaluate.py``), the list is not filtered: repeat items keep occupying slots when explore is
scored, which is exactly the trade-off the breakdown is meant to show.

Representations match ``evaluate.py`` / ``metrics.py``: ``top_k`` maps customer -> ranked product ids,
``truth`` maps customer -> set of products bought in the holdout, ``history`` maps customer -> set of
products bought in training. Per-customer numbers come from the list functions in ``metrics.py``
(binary relevance, 1/log2(rank + 1) discounts, precision divided by k), so they are comparable with
the overall metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hashiramart_assets.ml.recommender import metrics as m


@dataclass(frozen=True)
class RepeatExploreReport:
    """Mean metrics over the customers that have a non-empty repeat (resp. explore) part of their basket.

    A metric is NaN, and its customer count 0, when no customer qualifies: "no one to score" must not read
    as "scored zero".
    """

    repeat_precision_at_k: float
    repeat_recall_at_k: float
    repeat_ndcg_at_k: float
    repeat_customers: int  # customers with a non-empty T ∩ H
    explore_precision_at_k: float
    explore_recall_at_k: float
    explore_ndcg_at_k: float
    explore_customers: int  # customers with a non-empty T \ H
    list_repeat_share: float  # mean over customers of (recommended items in H among the top k) / k
    truth_repeat_share: float  # mean over customers of |T_rep| / |T|

    def metrics(self, suffix: str = "_at_10") -> dict[str, float]:
        """Flat metric keys in the evaluation's MLflow style, e.g. ``repeat_ndcg_at_10``.

        ``suffix`` goes on the k-dependent values only (the six accuracy metrics and
        ``list_repeat_share``); ``truth_repeat_share`` does not depend on k. Counts are
        ``n_repeat_customers`` / ``n_explore_customers`` (as floats), like the evaluation's
        ``n_eval_customers``.
        """
        return {
            f"repeat_precision{suffix}": self.repeat_precision_at_k,
            f"repeat_recall{suffix}": self.repeat_recall_at_k,
            f"repeat_ndcg{suffix}": self.repeat_ndcg_at_k,
            "n_repeat_customers": float(self.repeat_customers),
            f"explore_precision{suffix}": self.explore_precision_at_k,
            f"explore_recall{suffix}": self.explore_recall_at_k,
            f"explore_ndcg{suffix}": self.explore_ndcg_at_k,
            "n_explore_customers": float(self.explore_customers),
            f"list_repeat_share{suffix}": self.list_repeat_share,
            "truth_repeat_share": self.truth_repeat_share,
        }


def _mean(values: list[float]) -> float:
    """Arithmetic mean, NaN for no values (nothing qualified, which is not the same as a score of 0)."""
    return sum(values) / len(values) if values else math.nan


def repeat_explore(
    top_k: Mapping[int, Sequence[str]],
    truth: Mapping[int, set[str]],
    history: Mapping[int, set[str]],
    k: int = 10,
) -> RepeatExploreReport:
    """Score each customer's top-k list separately against the repeat and the explore part of their basket.

    Customers are those of ``truth`` with a non-empty holdout basket (as in ``metrics.per_customer_at_k``,
    where an empty basket has no relevant pairs); ``top_k`` entries for other customers are ignored. A
    customer missing from ``top_k`` has an empty list (scores 0 wherever they qualify), one missing from
    ``history`` has bought nothing before (their whole basket is explore).

    * Repeat metrics: the list against ``T ∩ H``, averaged over customers where that is non-empty.
    * Explore metrics: the list against ``T \\ H``, averaged over customers where that is non-empty.
    * Precision is hits against that part divided by k, not by the number of recommendations of the
      matching kind: this is what the paper does, and it keeps repeat precision + explore precision equal
      to the overall precision for a customer who has both parts.
    * ``list_repeat_share``: recommended slots in the top k holding an item of H, divided by k (empty slots
      of a short list count as non-repeat), averaged over all customers.
    * ``truth_repeat_share``: |T ∩ H| / |T|, averaged over all customers.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    repeat: dict[str, list[float]] = {"precision": [], "recall": [], "ndcg": []}
    explore: dict[str, list[float]] = {"precision": [], "recall": [], "ndcg": []}
    list_share: list[float] = []
    truth_share: list[float] = []
    for customer, basket in truth.items():
        if not basket:
            continue
        bought = history.get(customer, set())
        recommended = list(top_k.get(customer, ()))[:k]
        repeat_truth = basket & bought
        explore_truth = basket - bought
        for part, scores in ((repeat_truth, repeat), (explore_truth, explore)):
            if part:
                scores["precision"].append(m.precision_at_k(recommended, part, k))
                scores["recall"].append(m.recall_at_k(recommended, part, k))
                scores["ndcg"].append(m.ndcg_at_k(recommended, part, k))
        list_share.append(sum(1 for item in recommended if item in bought) / k)
        truth_share.append(len(repeat_truth) / len(basket))
    return RepeatExploreReport(
        repeat_precision_at_k=_mean(repeat["precision"]),
        repeat_recall_at_k=_mean(repeat["recall"]),
        repeat_ndcg_at_k=_mean(repeat["ndcg"]),
        repeat_customers=len(repeat["precision"]),
        explore_precision_at_k=_mean(explore["precision"]),
        explore_recall_at_k=_mean(explore["recall"]),
        explore_ndcg_at_k=_mean(explore["ndcg"]),
        explore_customers=len(explore["precision"]),
        list_repeat_share=_mean(list_share),
        truth_repeat_share=_mean(truth_share),
    )
