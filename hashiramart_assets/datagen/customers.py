"""Customers: the landed table plus hidden behaviour (taste cluster, activity, churn, favourites).

Signups are relative to the fixed ANCHOR, so the population is the same whatever range is generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashiramart_assets.datagen.catalogue import Catalogue
from hashiramart_assets.datagen.config import ANCHOR
from hashiramart_assets.datagen.ids import CUSTOMERS, ordinals_to_datetime, stream
from hashiramart_assets.datagen.taste import N_CLUSTERS, Taste

FAVOURITES = 4  # products a customer keeps coming back to (repeat buying)
FIRST_CUSTOMER_ID = 100_001
CUSTOMER_BLOCK = 10_000
REGIONS = (  # (region, country, share)
    ("Kanto", "JP", 0.28), ("Kansai", "JP", 0.16), ("Chubu", "JP", 0.09), ("Kyushu", "JP", 0.06),
    ("Hokkaido", "JP", 0.04), ("Tohoku", "JP", 0.03), ("North America", "US", 0.12), ("North America", "CA", 0.03),
    ("Europe", "FR", 0.06), ("Europe", "DE", 0.05), ("Europe", "GB", 0.04), ("Asia Pacific", "AU", 0.02),
    ("Asia Pacific", "KR", 0.02),
)
SEGMENTS = ("consumer", "business", "wholesale")  # "unknown" exists in the contract for importers only
SEGMENT_SHARE = (0.85, 0.11, 0.04)
SEGMENT_ACTIVITY = np.array([1.0, 1.6, 2.5])  # business and wholesale accounts order more often
CHANNELS = ("web", "app", "store")
CHANNEL_SHARE_BY_SEGMENT = np.array([[0.50, 0.38, 0.12], [0.80, 0.08, 0.12], [0.90, 0.0, 0.10]])
CHURN_SHARE = 0.3  # customers who stop buying some time after signing up
NEVER = 10**7  # an ordinal far beyond any generated day


@dataclass(frozen=True)
class Population:
    customers: pd.DataFrame
    cluster: np.ndarray  # hidden taste cluster per customer position
    activity: np.ndarray  # relative order and browse rate
    signup_ordinal: np.ndarray
    churn_ordinal: np.ndarray  # first day the customer no longer shows up
    segment: np.ndarray  # index into SEGMENTS
    channel: np.ndarray  # preferred channel, index into CHANNELS
    favourites: np.ndarray  # (n_customers, FAVOURITES) product positions, regular products only

    @property
    def n_customers(self) -> int:
        return len(self.cluster)


def build_population(seed: int, n_customers: int, catalogue: Catalogue, taste: Taste) -> Population:
    """Depends on (seed, size) and the regular catalogue only, so drift options never change it.

    Customers are drawn in fixed blocks of CUSTOMER_BLOCK, each from its own stream, so customer
    100042 is the same person at every scale that has them (a change of scale adds or drops customers
    at the end).
    """
    n_blocks = -(-n_customers // CUSTOMER_BLOCK)
    blocks = [_draw_block(stream(seed, CUSTOMERS, b), catalogue, taste) for b in range(n_blocks)]
    d = {key: np.concatenate([block[key] for block in blocks])[:n_customers] for key in blocks[0]}
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(FIRST_CUSTOMER_ID, FIRST_CUSTOMER_ID + n_customers, dtype=np.int64),
            "signup_date": ordinals_to_datetime(d["signup"]),
            "segment": np.array(SEGMENTS, dtype=object)[d["segment"]],
            "region": np.array([r[0] for r in REGIONS], dtype=object)[d["region"]],
            "country": np.array([r[1] for r in REGIONS], dtype=object)[d["region"]],
        }
    )
    return Population(
        customers=customers,
        cluster=d["cluster"],
        activity=d["activity"],
        signup_ordinal=d["signup"],
        churn_ordinal=d["churn"],
        segment=d["segment"],
        channel=d["channel"],
        favourites=d["favourites"],
    )


def _draw_block(rng: np.random.Generator, catalogue: Catalogue, taste: Taste) -> dict[str, np.ndarray]:
    """Everything random about CUSTOMER_BLOCK customers."""
    n = CUSTOMER_BLOCK
    cluster = rng.choice(N_CLUSTERS, n, p=taste.cluster_size)
    segment = rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARE)
    activity = rng.lognormal(0.0, 0.9, n) * SEGMENT_ACTIVITY[segment]
    signup = ANCHOR.toordinal() - rng.integers(1, 1100, n)
    joins_later = rng.random(n) < 0.3  # a third sign up during the anchor year
    signup = np.where(joins_later, ANCHOR.toordinal() + rng.integers(0, 365, n), signup)
    churns = rng.random(n) < CHURN_SHARE
    churn = np.where(churns, signup + 30 + rng.exponential(400, n).astype(np.int64), NEVER)
    region = rng.choice(len(REGIONS), n, p=[r[2] for r in REGIONS])
    u = rng.random(n)[:, None]
    channel = (u > CHANNEL_SHARE_BY_SEGMENT[segment].cumsum(axis=1)).sum(axis=1)
    return {
        "cluster": cluster,
        "segment": segment,
        "activity": activity,
        "signup": signup,
        "churn": churn,
        "region": region,
        "channel": channel,
        "favourites": _favourites(rng, cluster, catalogue, taste),
    }


def _favourites(rng: np.random.Generator, cluster: np.ndarray, catalogue: Catalogue, taste: Taste) -> np.ndarray:
    """A few products per customer from the cluster's taste, consumables preferred (they get re-bought)."""
    n_regular = int((~catalogue.is_new_category).sum())  # regular products come first in the catalogue
    # square root flattens the hits, so favourites are personal rather than everyone's bestseller
    weights = (np.sqrt(taste.base_weights(catalogue)) * np.where(catalogue.consumable, 3.0, 1.0))[:, :n_regular]
    favourites = np.empty((len(cluster), FAVOURITES), dtype=np.int64)
    for k in range(N_CLUSTERS):  # a loop over clusters, not customers
        members = np.flatnonzero(cluster == k)
        favourites[members] = rng.choice(n_regular, (len(members), FAVOURITES), p=weights[k] / weights[k].sum())
    return favourites
