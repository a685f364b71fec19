"""Target encodings of a series' level and of its weekday and promo effects, fitted on training rows only.

Why: a store's or an item's typical level, how much its Saturday differs from its Monday, and how much a
promotion lifts it are the strongest facts a global model can know about a series. Rolling features give
them only from the last weeks; an encoding gives them from the whole training window. They are computed
in log1p space (relative effects, comparable across series of any size) and shrunk towards the global
effect with ``prior`` pseudo-rows, so a series with three promo days does not get a wild promo effect.
Only rows the model is trained on (open, observed, before the cut-off) are used: the caller passes them,
so a backtest window can never see its own sales through an encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, PROMO, SALES, SERIES

PRIOR = 10.0
ENCODING_COLUMNS = ("te_level", "te_wday", "te_promo")


@dataclass(frozen=True)
class TargetEncodings:
    """Per-series level, (series, weekday) and (series, promo) deviations, plus the global fallbacks."""

    global_level: float
    level: dict[str, float]
    wday: dict[tuple[str, int], float]
    promo: dict[tuple[str, int], float]
    global_wday: dict[int, float]
    global_promo: dict[int, float]

    def to_dict(self) -> dict:
        return {
            "global_level": self.global_level,
            "level": self.level,
            "wday": [[s, d, v] for (s, d), v in self.wday.items()],
            "promo": [[s, p, v] for (s, p), v in self.promo.items()],
            "global_wday": {str(k): v for k, v in self.global_wday.items()},
            "global_promo": {str(k): v for k, v in self.global_promo.items()},
        }

    @classmethod
    def from_dict(cls, values: dict) -> TargetEncodings:
        return cls(
            global_level=float(values["global_level"]),
            level={str(k): float(v) for k, v in values["level"].items()},
            wday={(str(s), int(d)): float(v) for s, d, v in values["wday"]},
            promo={(str(s), int(p)): float(v) for s, p, v in values["promo"]},
            global_wday={int(k): float(v) for k, v in values["global_wday"].items()},
            global_promo={int(k): float(v) for k, v in values["global_promo"].items()},
        )


def _shrunk(sums: pd.Series, counts: pd.Series, prior_values: pd.Series | float, prior: float) -> pd.Series:
    return (sums + prior * prior_values) / (counts + prior)


def fit_encodings(rows: pd.DataFrame, prior: float = PRIOR) -> TargetEncodings:
    """Encodings from training rows (columns series_id, date, sales, promo), all assumed open and observed.

    level(s) = (sum log1p(y) + prior * global mean) / (n + prior);
    wday(s, d) = shrunk mean of log1p(y) - level(s) over s's rows on weekday d, prior = that weekday's
    global mean deviation; promo(s, p) likewise for promo state p (0 or 1).
    """
    if rows.empty:
        raise ValueError("target encodings need at least one training row")
    log_y = np.log1p(rows[SALES].to_numpy("float64"))
    frame = pd.DataFrame({
        "s": rows[SERIES].astype(str).to_numpy(),
        "d": pd.DatetimeIndex(rows[DATE]).dayofweek.to_numpy(),
        "p": (rows[PROMO].to_numpy("float64") > 0).astype(int),
        "y": log_y,
    })
    global_level = float(log_y.mean())
    by_series = frame.groupby("s")["y"].agg(["sum", "count"])
    level = _shrunk(by_series["sum"], by_series["count"], global_level, prior)
    frame["dev"] = frame["y"] - frame["s"].map(level)
    out = {}
    for key in ("d", "p"):
        global_dev = frame.groupby(key)["dev"].mean()
        grouped = frame.groupby(["s", key])["dev"].agg(["sum", "count"])
        prior_values = global_dev.reindex(grouped.index.get_level_values(key)).to_numpy()
        shrunk = _shrunk(grouped["sum"], grouped["count"], prior_values, prior)
        out[key] = ({(str(s), int(k)): float(v) for (s, k), v in shrunk.items()},
                    {int(k): float(v) for k, v in global_dev.items()})
    return TargetEncodings(global_level, {str(k): float(v) for k, v in level.items()},
                           out["d"][0], out["p"][0], out["d"][1], out["p"][1])


def apply_encodings(encodings: TargetEncodings, series: np.ndarray, dates: pd.DatetimeIndex,
                    promo: np.ndarray) -> dict[str, np.ndarray]:
    """te_level, te_wday, te_promo for each row; unknown series or keys fall back to the global values."""
    names = pd.Series(series).astype(str)
    weekday = dates.dayofweek.to_numpy()
    promo_state = (np.asarray(promo, dtype="float64") > 0).astype(int)
    level = names.map(encodings.level).fillna(encodings.global_level).to_numpy("float64")

    def lookup(table: dict[tuple[str, int], float], fallback: dict[int, float], keys: np.ndarray) -> np.ndarray:
        index = pd.MultiIndex.from_arrays([names.to_numpy(), keys])
        values = pd.Series(table, dtype="float64")
        found = values.reindex(index).to_numpy() if len(values) else np.full(len(keys), np.nan)
        default = pd.Series(keys).map(fallback).fillna(0.0).to_numpy("float64")
        return np.where(np.isnan(found), default, found)

    return {
        "te_level": level,
        "te_wday": lookup(encodings.wday, encodings.global_wday, weekday),
        "te_promo": lookup(encodings.promo, encodings.global_promo, promo_state),
    }
