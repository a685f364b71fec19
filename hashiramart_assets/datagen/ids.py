"""Random streams, identifiers and date conversions shared by the generator's modules.

Every random draw comes from ``stream(seed, purpose, *keys)``: a generator seeded by the config seed,
a fixed purpose number and (for daily data) the day's ordinal. So a day's data never depends on the
days generated before it in the same call, and adding a purpose never shifts another one's draws.
"""

from __future__ import annotations

from datetime import date

import numpy as np

# purpose numbers of the random streams (never renumber: that would change every generated data set)
CATALOGUE, NEW_CATEGORY, TASTE, NEW_TASTE, CUSTOMERS, PROMO, SALES, RETURNS, EVENTS, CORRUPT = range(1, 11)

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def stream(seed: int, purpose: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, purpose, *keys])


def numbered(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + 1..n zero-padded to ``width`` digits, as an object array of str.

    Built from a digit matrix rather than an f-string per row: several times faster on the ~30k
    event ids a day of the 10M-event scale needs.
    """
    if n == 0:
        return np.array([], dtype=object)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    width = max(width, len(str(n)))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    matrix = np.empty((n, len(head) + width), dtype=np.uint8)
    matrix[:, : len(head)] = head
    matrix[:, len(head) :] = (np.arange(1, n + 1, dtype=np.int64)[:, None] // powers) % 10 + ord("0")
    return matrix.view(f"S{matrix.shape[1]}").ravel().astype(np.str_).astype(object)


def ordinals_to_datetime(ordinals: np.ndarray) -> np.ndarray:
    """Date ordinals -> datetime64[ns] at midnight (vectorised ``date.fromordinal``)."""
    return (np.asarray(ordinals, dtype=np.int64) - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[ns]")


def day_timestamps(day: date, seconds: np.ndarray) -> np.ndarray:
    """Seconds after midnight of ``day`` -> datetime64[ns]."""
    midnight = np.datetime64(day.isoformat(), "ns")
    return midnight + (np.asarray(seconds, dtype=np.int64) * 1_000_000_000).astype("timedelta64[ns]")


def sample_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn from an unnormalised cumulative weight vector with uniforms ``u`` in [0, 1)."""
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)
