"""Customers with a hidden taste cluster, an activity level and a few staple products they re-buy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hashiramart_assets.datagen.catalogue import Catalogue

N_CLUSTERS = 8
STAPLES = 4
REGIONS = [
    ("Kanto", "JP", 0.30), ("Kansai", "JP", 0.18), ("Chubu", "JP", 0.10), ("Kyushu", "JP", 0.07),
    ("Hokkaido", "JP", 0.05), ("North America", "US", 0.12), ("Europe", "FR", 0.06), ("Europe", "DE", 0.06),
    ("Europe", "GB", 0.04), ("Asia Pacific", "AU", 0.02),
]
SEGMENTS = (("consumer", 0.82), ("business", 0.13), ("wholesale", 0.05))


@dataclass(frozen=True)
class Population:
    customers: pd.DataFrame
    cluster: np.ndarray  # hidden taste cluster per customer position
    activity: np.ndarray  # relative order rate
    signup_ordinal: np.ndarray
    wholesale: np.ndarray  # bool
    staples: np.ndarray  # (n_customers, STAPLES) product positions
    cluster_category_pref: np.ndarray  # (N_CLUSTERS, n_categories)


def build_population(seed: int, n_customers: int, start: date, catalogue: Catalogue) -> Population:
    """Only regular (non-drift) products are staples, so the population does not depend on drift options."""
    rng = np.random.default_rng([seed, 3])
    n_regular_cats = int(catalogue.category_index[~catalogue.is_new_category].max()) + 1
    pref = rng.dirichlet(np.full(n_regular_cats, 0.25), N_CLUSTERS)  # each cluster loves a few categories
    pref = np.hstack([pref, np.zeros((N_CLUSTERS, catalogue.n_categories - n_regular_cats))])
    cluster = rng.integers(0, N_CLUSTERS, n_customers)
    activity = rng.lognormal(0.0, 0.9, n_customers)
    signup = start.toordinal() - rng.integers(1, 1000, n_customers)
    joins_later = rng.random(n_customers) < 0.3
    signup = np.where(joins_later, start.toordinal() + rng.integers(0, 365, n_customers), signup)
    seg_names = np.array([s for s, _ in SEGMENTS], dtype=object)
    segment = seg_names[rng.choice(len(SEGMENTS), n_customers, p=[p for _, p in SEGMENTS])]
    region_idx = rng.choice(len(REGIONS), n_customers, p=[p for _, _, p in REGIONS])
    # staples: products from the cluster's favourite categories, weighted by popularity
    regular = ~catalogue.is_new_category
    staples = np.empty((n_customers, STAPLES), dtype=np.int64)
    for k in range(N_CLUSTERS):
        members = np.flatnonzero(cluster == k)
        weights = pref[k][catalogue.category_index] * catalogue.popularity * regular
        weights = weights / weights.sum()
        staples[members] = rng.choice(len(weights), (len(members), STAPLES), p=weights)
    epoch = date(1, 1, 1)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
            "signup_date": pd.to_datetime([epoch + timedelta(days=int(o) - 1) for o in signup]),
            "segment": segment,
            "region": [REGIONS[i][0] for i in region_idx],
            "country": [REGIONS[i][1] for i in region_idx],
        }
    )
    return Population(
        customers=customers,
        cluster=cluster,
        activity=activity * np.where(segment == "wholesale", 2.0, 1.0),
        signup_ordinal=signup,
        wholesale=segment == "wholesale",
        staples=staples,
        cluster_category_pref=pref,
    )
