"""Offline evaluation of the hybrid against the baselines on a per-customer time holdout.

Two modes, because they answer different questions:

* re-buy: may we recommend what the customer bought before? (next-basket accuracy, what the shop's
  "buy again" row shows);
* discovery: products the customer bought in training are removed from both the recommendations and
  the relevant set; customers with nothing new in their holdout basket are skipped. This is the part
  collaborative filtering is for, and where re-buy tricks earn nothing.

In re-buy mode the same lists are also scored on the re-bought and on the new items of the holdout basket
apart (``repeat_ndcg_at_10``, ``explore_ndcg_at_10``, repeat_explore.py), as next-basket research reports them.

Metric names are the MLflow metric keys (``ndcg_at_10``, ``baseline_als_ndcg_at_10_discovery``...).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from hashiramart_assets.ml.recommender import metrics as m
from hashiramart_assets.ml.recommender.base import Recommender
from hashiramart_assets.ml.recommender.baselines import AlsRecommender, PopularRecommender, RepurchaseRecommender
from hashiramart_assets.ml.recommender.data import build_training_data
from hashiramart_assets.ml.recommender.interactions import (
    DEFAULT_WEIGHTS,
    InteractionWeights,
    as_of_date,
    build_interactions,
    purchase_lines,
)
from hashiramart_assets.ml.recommender.model import HybridRecommender
from hashiramart_assets.ml.recommender.params import RecommenderParams
from hashiramart_assets.ml.recommender.repeat_explore import repeat_explore
from hashiramart_assets.ml.recommender.split import HoldoutSplit, holdout_split

MODES = {"rebuy": "", "discovery": "_discovery"}
PREFIXES = {"hybrid": "", "popular": "baseline_popular_", "repurchase": "baseline_repurchase_", "als": "baseline_als_"}
PER_CUSTOMER = m.PER_CUSTOMER


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]  # flat MLflow metrics (see module docstring)
    segments: pd.DataFrame  # segment, mode, model, per-customer metrics, n_customers
    split: HoldoutSplit
    model: HybridRecommender  # the hybrid fitted on the training split
    n_customers: dict[str, int]  # customers scored per mode (discovery skips those with nothing new)


def score_recommendations(
    recommended: pd.DataFrame,
    relevant: pd.DataFrame,
    k: int,
    catalogue: Collection[str],
    buyers: pd.Series,
    n_users: int,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Mean metrics over the customers in ``relevant`` (pairs) and the per-customer table behind them."""
    table = m.per_customer_at_k(recommended, relevant, k)
    return _summary(table, recommended, k, catalogue, buyers, n_users), table


def _summary(table: pd.DataFrame, recommended: pd.DataFrame, k: int, catalogue: Collection[str],
             buyers: pd.Series, n_users: int) -> dict[str, float]:
    summary = {f"{name}_at_{k}": float(table[name].mean()) if len(table) else 0.0 for name in PER_CUSTOMER}
    shown = recommended[recommended["customer_id"].isin(table["customer_id"])]
    summary["coverage"], summary["novelty"] = m.coverage_and_novelty(shown, catalogue, buyers, n_users, k)
    return summary


def evaluate(
    orders: pd.DataFrame,
    events: pd.DataFrame,
    customers: pd.DataFrame,
    params: RecommenderParams | None = None,
    k: int = 10,
    weights: InteractionWeights = DEFAULT_WEIGHTS,
    catalogue: Collection[str] | None = None,
) -> Evaluation:
    """Split, fit the hybrid and the three baselines on the training part, score both modes.

    ``catalogue`` (for coverage) defaults to every product in the orders and events given.
    """
    params = params or RecommenderParams()
    split = holdout_split(orders, events)
    as_of = as_of_date(split.train_orders, split.train_events)
    interactions = build_interactions(split.train_orders, split.train_events, as_of, weights)
    data = build_training_data(interactions, split.train_orders, as_of, params.history_half_life_days,
                               params.repeat_prior, params.popularity_half_life_days)
    hybrid = HybridRecommender(params).fit_data(data)
    assert hybrid.user_factors is not None and hybrid.item_factors is not None  # set by fit_data
    models: dict[str, Recommender] = {
        "hybrid": hybrid,
        "popular": PopularRecommender().fit_data(data),
        "repurchase": RepurchaseRecommender().fit_data(data),
        # the plain-ALS baseline is the hybrid's own ALS component (same params, data and seed)
        "als": AlsRecommender(params).with_factors(data, hybrid.user_factors, hybrid.item_factors),
    }
    if catalogue is None:
        catalogue = set(orders["product_id"].dropna().astype(str)) | set(events["product_id"].dropna().astype(str))
    bought = purchase_lines(split.train_orders)
    train_bought = {int(c): set(map(str, g)) for c, g in bought.groupby("customer_id")["product_id"]}
    buyers = bought.groupby("product_id")["customer_id"].nunique()
    buyers.index = buyers.index.astype(str)
    n_users = int(bought["customer_id"].nunique())
    relevant = {
        "rebuy": split.heldout,
        "discovery": {
            c: new for c, items in split.heldout.items() if (new := items - train_bought.get(c, set()))
        },
    }
    segment_of = customers.drop_duplicates("customer_id").set_index("customer_id")["segment"]
    metrics: dict[str, float] = {"n_eval_customers": float(len(split.heldout))}
    segment_rows: list[dict[str, object]] = []
    counts: dict[str, int] = {}
    for mode, suffix in MODES.items():
        targets = relevant[mode]
        counts[mode] = len(targets)
        pairs = m.relevant_pairs(targets)
        for name, model in models.items():
            recs = model.recommend(list(targets), k=k, exclude_purchased=mode == "discovery")
            recs["product_id"] = recs["product_id"].astype(str)
            summary, table = score_recommendations(recs, pairs, k, catalogue, buyers, n_users)
            metrics.update({f"{PREFIXES[name]}{key}{suffix}": value for key, value in summary.items()})
            if mode == "rebuy":  # the same lists, judged on re-bought and on new items apart (Li et al. 2023)
                lists = {int(c): list(g) for c, g in recs.groupby("customer_id", sort=False)["product_id"]}
                split_report = repeat_explore(lists, targets, train_bought, k=k)
                metrics.update({f"{PREFIXES[name]}{key}": value
                                for key, value in split_report.metrics(f"_at_{k}").items()})
            table["segment"] = table["customer_id"].map(segment_of).fillna("unknown").astype(str)
            for segment, group in table.groupby("segment", sort=True):
                seg_summary = _summary(group, recs, k, catalogue, buyers, n_users)
                segment_rows.append(
                    {"segment": segment, "mode": mode, "model": name, **seg_summary, "n_customers": len(group)}
                )
    segments = pd.DataFrame(segment_rows)
    return Evaluation(metrics=metrics, segments=segments, split=split, model=hybrid, n_customers=counts)


def segment_metrics_dict(segments: pd.DataFrame) -> dict[str, float]:
    """Per-segment table flattened to MLflow-style keys, e.g. ``segment_business_ndcg_at_10_discovery``."""
    out: dict[str, float] = {}
    value_cols = [c for c in segments.columns if c not in ("segment", "mode", "model")]
    for row in segments.itertuples(index=False):
        r = row._asdict()
        prefix = PREFIXES[r["model"]]
        suffix = MODES[r["mode"]]
        for col in value_cols:
            out[f"segment_{r['segment']}_{prefix}{col}{suffix}"] = float(r[col])
    return out

