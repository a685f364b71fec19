"""Hidden taste clusters: what each group of customers likes, down to individual products.

A cluster has a preference over categories (a few loved, the rest rare) and its own appeal per
product on top of global popularity, so two clusters that both love Nendoroids still favour different
ones. That product-level structure is what collaborative filtering has to recover; the cluster itself
is never written to the landing zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashiramart_assets.datagen.catalogue import MAX_NEW_PRODUCTS, Catalogue
from hashiramart_assets.datagen.config import MAX_PRODUCTS
from hashiramart_assets.datagen.ids import NEW_TASTE, TASTE, stream

N_CLUSTERS = 10
CATEGORY_CONCENTRATION = 0.25  # Dirichlet alpha: low = each cluster loves a handful of categories
CATEGORY_FLOOR = 0.05  # share of a cluster's category taste spread evenly: anyone buys anything sometimes
AFFINITY_SIGMA = 0.9  # lognormal spread of a cluster's appeal per product


@dataclass(frozen=True)
class Taste:
    category_pref: np.ndarray  # (N_CLUSTERS, n_categories), regular categories sum to 1 per cluster
    affinity: np.ndarray  # (N_CLUSTERS, n_products) cluster-specific appeal of each product
    new_share: np.ndarray  # (N_CLUSTERS,) demand share the drift department takes once launched
    cluster_size: np.ndarray  # (N_CLUSTERS,) share of customers in each cluster

    def base_weights(self, catalogue: Catalogue) -> np.ndarray:
        """(N_CLUSTERS, n_products) appeal ignoring the calendar: category taste x popularity x affinity."""
        return self.category_pref[:, catalogue.category_index] * catalogue.popularity * self.affinity


def build_taste(seed: int, catalogue: Catalogue) -> Taste:
    """Regular tastes from one stream, drift-department tastes from another (drift never shifts the rest)."""
    rng = stream(seed, TASTE)
    n_regular = int((~catalogue.is_new_category).sum())
    n_reg_cat = catalogue.n_regular_categories
    pref = rng.dirichlet(np.full(n_reg_cat, CATEGORY_CONCENTRATION), N_CLUSTERS)
    pref = (1 - CATEGORY_FLOOR) * pref + CATEGORY_FLOOR / n_reg_cat
    affinity = rng.lognormal(0.0, AFFINITY_SIGMA, (N_CLUSTERS, MAX_PRODUCTS))[:, :n_regular]  # scale-stable
    cluster_size = rng.dirichlet(np.full(N_CLUSTERS, 8.0))
    new_rng = stream(seed, NEW_TASTE)
    n_new_cat = catalogue.n_categories - n_reg_cat
    n_new = catalogue.n_products - n_regular
    new_pref = new_rng.dirichlet(np.ones(n_new_cat), N_CLUSTERS) if n_new_cat else np.zeros((N_CLUSTERS, 0))
    new_affinity = new_rng.lognormal(0.0, AFFINITY_SIGMA, (N_CLUSTERS, MAX_NEW_PRODUCTS))[:, :n_new]
    new_share = new_rng.uniform(0.1, 0.4, N_CLUSTERS) if n_new else np.zeros(N_CLUSTERS)
    return Taste(
        category_pref=np.hstack([pref, new_pref]),
        affinity=np.hstack([affinity, new_affinity]),
        new_share=new_share,
        cluster_size=cluster_size,
    )


def daily_weights(taste: Taste, catalogue: Catalogue, boost: np.ndarray) -> np.ndarray:
    """(N_CLUSTERS, n_products) relative purchase weights for one day (rows need not sum to 1).

    ``boost`` is the day's per-product multiplier (0 before launch, seasonality, promotions). Once the
    drift department has launched products, each cluster moves its ``new_share`` of demand to them.
    """
    weights = taste.base_weights(catalogue) * boost
    new = np.where(catalogue.is_new_category, weights, 0.0)
    new_sum = new.sum(axis=1, keepdims=True)
    if not new_sum.any():
        # left unnormalised (sampling does not need it): days before the drift launch then draw exactly
        # as they would without the drift option
        return weights
    regular = np.where(catalogue.is_new_category, 0.0, weights)
    regular_sum = regular.sum(axis=1, keepdims=True)
    share = np.where(new_sum > 0, taste.new_share[:, None], 0.0)
    share = np.where(regular_sum > 0, share, 1.0)
    return (1 - share) * regular / np.where(regular_sum > 0, regular_sum, 1.0) + share * new / np.where(
        new_sum > 0, new_sum, 1.0
    )
