"""Per-feature drift statistics between a reference window and a recent window of one table.

Why these statistics:

* **PSI** (population stability index) is the number the shop's analysts already read: one scalar per numeric
  feature with well-known rules of thumb (< 0.1 stable, 0.1-0.2 moderate, >= 0.2 significant shift). It is
  computed on bins cut at the *reference* quantiles so every reference bin holds roughly the same mass::

      PSI = sum_i (cur_i - ref_i) * ln(cur_i / ref_i)

  where ``ref_i`` / ``cur_i`` are the shares of non-missing rows in bin ``i``. The first and last bins are
  open-ended so recent values outside the reference range still land in a bin; a share of exactly zero is
  replaced by ``epsilon`` (1e-4) so an emptied or newly filled bin gives a large but finite term.
* **KS** (two-sample Kolmogorov-Smirnov) complements PSI with a binning-free statistic and a p-value. With
  thousands of rows the p-value is tiny for practically irrelevant shifts, so it is reported, never used to flag.
* **Jensen-Shannon distance** (base 2, so in [0, 1]) is the categorical counterpart of PSI: symmetric and
  finite even when a category exists on one side only.
* **Chi-square** on the 2 x K contingency table of counts gives the classical test for categorical features
  (Pearson statistic, no Yates correction, so its form does not change when K happens to be 2). Like KS, it is
  informative but not used to flag.
* **Unseen categories** (present in the recent window, never in the reference) are listed on their own because
  they usually mean an upstream change (a new country, a renamed channel) that models cannot handle.

Missing values (NaN/None, and +-inf for numeric features) are dropped before the statistics and counted per
window. Empty windows raise :class:`DriftInputError`: drift of zero rows is not "no drift".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from itertools import pairwise
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

FeatureKind = Literal["numeric", "categorical"]
DateLike: TypeAlias = date | str | pd.Timestamp


class DriftInputError(ValueError):
    """The windows cannot be compared (empty window, missing column, unusable dates, non-numeric values)."""


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature or the volume counts as drifted; defaults follow the usual PSI / JS rules of thumb."""

    psi_threshold: float = 0.2
    js_threshold: float = 0.1
    unseen_share_threshold: float = 0.01
    min_volume_ratio: float = 0.5
    max_volume_ratio: float = 2.0
    psi_bins: int = 10
    psi_epsilon: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("psi_threshold", "js_threshold", "unseen_share_threshold", "min_volume_ratio"):
            if getattr(self, name) < 0:
                raise ValueError(f"DriftThresholds.{name} must be >= 0, got {getattr(self, name)}")
        if self.max_volume_ratio < self.min_volume_ratio:
            raise ValueError(
                f"DriftThresholds.max_volume_ratio ({self.max_volume_ratio}) is below "
                f"min_volume_ratio ({self.min_volume_ratio})"
            )
        if self.psi_bins < 1:
            raise ValueError(f"DriftThresholds.psi_bins must be >= 1, got {self.psi_bins}")
        if not self.psi_epsilon > 0:
            raise ValueError(f"DriftThresholds.psi_epsilon must be > 0, got {self.psi_epsilon}")


DEFAULT_THRESHOLDS = DriftThresholds()


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of calendar days (a window's bounds)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"DateRange ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [d.date() for d in pd.date_range(self.start, self.end, freq="D")]

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}

    @classmethod
    def coerce(cls, value: DateRange | tuple[DateLike, DateLike] | None) -> DateRange | None:
        """Accept a DateRange or a ``(start, end)`` pair of dates / ISO strings / Timestamps."""
        if value is None or isinstance(value, DateRange):
            return value
        start, end = value
        return cls(pd.Timestamp(start).date(), pd.Timestamp(end).date())


@dataclass(frozen=True)
class UnseenCategory:
    """A category of the recent window that never occurs in the reference window."""

    category: str
    rows: int
    share: float  # of all recent-window rows


@dataclass(frozen=True)
class Distribution:
    """Counts of both windows over the same bins (numeric) or categories, kept for the report's plots."""

    labels: tuple[str, ...]
    reference: tuple[int, ...]
    recent: tuple[int, ...]
    unseen: tuple[bool, ...]  # per label: category absent from the reference (always False for numeric bins)
    cuts: tuple[float, ...] | None = None  # numeric: interior bin edges, bins are (-inf, c0], (c0, c1], ..., (ck, inf)

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Shares of non-missing rows per label in each window (zeros when a window has no values)."""
        ref = np.asarray(self.reference, dtype=float)
        cur = np.asarray(self.recent, dtype=float)
        return (ref / ref.sum() if ref.sum() else ref), (cur / cur.sum() if cur.sum() else cur)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "reference": list(self.reference),
            "recent": list(self.recent),
            "unseen": list(self.unseen),
        }
        if self.cuts is not None:
            out["cuts"] = [_json_float(c) for c in self.cuts]
        return out


@dataclass(frozen=True)
class FeatureDrift:
    """Drift statistics of one feature. Statistics that do not apply to the kind, or cannot be computed
    (a window without non-missing values), are None."""

    feature: str
    kind: FeatureKind
    ref_rows: int
    cur_rows: int
    ref_nan: int
    cur_nan: int
    psi: float | None = None
    ks_stat: float | None = None
    ks_pvalue: float | None = None
    js_distance: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    unseen_categories: tuple[UnseenCategory, ...] = ()
    unseen_share: float = 0.0
    drifted: bool = False
    reasons: tuple[str, ...] = ()
    distribution: Distribution | None = field(default=None, repr=False, compare=False)

    @property
    def unseen_names(self) -> list[str]:
        return [u.category for u in self.unseen_categories]

    def to_dict(self, include_distribution: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "feature": self.feature,
            "kind": self.kind,
            "psi": _json_float(self.psi),
            "ks_stat": _json_float(self.ks_stat),
            "ks_pvalue": _json_float(self.ks_pvalue),
            "js_distance": _json_float(self.js_distance),
            "chi2": _json_float(self.chi2),
            "chi2_pvalue": _json_float(self.chi2_pvalue),
            "unseen_categories": [
                {"category": u.category, "rows": u.rows, "share": _json_float(u.share)} for u in self.unseen_categories
            ],
            "unseen_share": _json_float(self.unseen_share),
            "drifted": self.drifted,
            "reasons": list(self.reasons),
            "ref_rows": self.ref_rows,
            "cur_rows": self.cur_rows,
            "ref_nan": self.ref_nan,
            "cur_nan": self.cur_nan,
        }
        if include_distribution:
            out["distribution"] = self.distribution.to_dict() if self.distribution is not None else None
        return out


@dataclass(frozen=True)
class VolumeDrift:
    """Rows per day of the recent window against the reference window's daily mean.

    Daily means divide the rows with a valid date by the number of calendar days in the window's range (the
    declared window when given, else first..last date seen), so days without rows pull the mean down.
    """

    date_column: str
    reference_rows: int
    recent_rows: int
    reference_days: int
    recent_days: int
    reference_daily_mean: float
    recent_daily_mean: float
    ratio: float
    reference_zero_days: tuple[date, ...]
    recent_zero_days: tuple[date, ...]
    reference_missing_dates: int
    recent_missing_dates: int
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reference_zero_days"] = [d.isoformat() for d in self.reference_zero_days]
        out["recent_zero_days"] = [d.isoformat() for d in self.recent_zero_days]
        for key in ("reference_daily_mean", "recent_daily_mean", "ratio"):
            out[key] = _json_float(out[key])
        return out


@dataclass(frozen=True)
class DriftResult:
    """Drift of one table between two windows: per-feature statistics plus volume."""

    table_name: str
    features: tuple[FeatureDrift, ...]
    thresholds: DriftThresholds
    reference_rows: int
    recent_rows: int
    reference_range: DateRange | None = None
    recent_range: DateRange | None = None
    volume: VolumeDrift | None = None

    @property
    def drifted_features(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def share_drifted(self) -> float:
        """Drifted features / features (0.0 when no features were checked)."""
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    @property
    def max_psi(self) -> float | None:
        values = [f.psi for f in self.features if f.psi is not None]
        return max(values) if values else None

    @property
    def max_psi_feature(self) -> str | None:
        candidates = [f for f in self.features if f.psi is not None]
        return max(candidates, key=lambda f: f.psi or 0.0).feature if candidates else None

    @property
    def unseen_categories(self) -> dict[str, tuple[UnseenCategory, ...]]:
        """Unseen categories per categorical feature (only features that have some)."""
        return {f.feature: f.unseen_categories for f in self.features if f.unseen_categories}

    @property
    def has_drift(self) -> bool:
        """Any feature drifted, or the volume left its allowed ratio band."""
        return bool(self.drifted_features) or bool(self.volume and self.volume.flagged)

    def feature(self, name: str) -> FeatureDrift:
        for f in self.features:
            if f.feature == name:
                return f
        raise KeyError(name)

    def to_dict(self, include_distributions: bool = False) -> dict[str, Any]:
        """JSON-serialisable summary: NaN/inf become None, dates ISO strings."""
        return {
            "table_name": self.table_name,
            "reference_range": self.reference_range.to_dict() if self.reference_range else None,
            "recent_range": self.recent_range.to_dict() if self.recent_range else None,
            "reference_rows": self.reference_rows,
            "recent_rows": self.recent_rows,
            "n_features": len(self.features),
            "n_drifted": len(self.drifted_features),
            "share_drifted": _json_float(self.share_drifted),
            "max_psi": _json_float(self.max_psi),
            "max_psi_feature": self.max_psi_feature,
            "drifted_features": [f.feature for f in self.drifted_features],
            "unseen_categories": {
                name: [{"category": u.category, "rows": u.rows, "share": _json_float(u.share)} for u in unseen]
                for name, unseen in self.unseen_categories.items()
            },
            "volume": self.volume.to_dict() if self.volume else None,
            "has_drift": self.has_drift,
            "thresholds": asdict(self.thresholds),
            "features": [f.to_dict(include_distribution=include_distributions) for f in self.features],
        }

    def feature_table(self) -> pd.DataFrame:
        """One row per feature; unseen_categories holds the category names."""
        columns = [
            "feature", "kind", "psi", "ks_stat", "ks_pvalue", "js_distance", "chi2", "chi2_pvalue",
            "unseen_categories", "unseen_share", "drifted", "ref_rows", "cur_rows", "ref_nan", "cur_nan", "reasons",
        ]  # fmt: skip
        rows = [
            {
                "feature": f.feature,
                "kind": f.kind,
                "psi": f.psi,
                "ks_stat": f.ks_stat,
                "ks_pvalue": f.ks_pvalue,
                "js_distance": f.js_distance,
                "chi2": f.chi2,
                "chi2_pvalue": f.chi2_pvalue,
                "unseen_categories": f.unseen_names,
                "unseen_share": f.unseen_share,
                "drifted": f.drifted,
                "ref_rows": f.ref_rows,
                "cur_rows": f.cur_rows,
                "ref_nan": f.ref_nan,
                "cur_nan": f.cur_nan,
                "reasons": "; ".join(f.reasons),
            }
            for f in self.features
        ]
        table = pd.DataFrame(rows, columns=columns)
        for col in ("psi", "ks_stat", "ks_pvalue", "js_distance", "chi2", "chi2_pvalue", "unseen_share"):
            table[col] = table[col].astype("float64")  # None -> NaN, also for an empty table
        return table


# --------------------------------------------------------------------------------------------------------------
# Numeric statistics
# --------------------------------------------------------------------------------------------------------------


def psi_bin_cuts(reference: Iterable[float], bins: int = 10) -> np.ndarray:
    """Interior bin edges at the reference quantiles 1/bins, ..., (bins-1)/bins, deduplicated.

    Bins are right-closed, ``(-inf, c0], (c0, c1], ..., (c_last, inf)``: the outer bins are open-ended. Using
    only the interior quantiles (never the min/max) keeps a cut at a heavily tied minimum, so discrete features
    (e.g. quantities 1, 2, 3) still get one bin per value; ties make fewer than ``bins`` bins. Quantiles use
    ``method="lower"`` so every cut is an observed reference value: no interpolated cut falls between two
    discrete values (which would make empty bins) and the plot labels stay readable. A constant reference
    gives a single cut, i.e. the bins "<= value" and "> value".
    """
    values = _finite(reference)
    if values.size == 0:
        raise ValueError("psi_bin_cuts needs at least one finite reference value")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.unique(np.quantile(values, probabilities, method="lower"))


def bin_counts(values: Iterable[float], cuts: Sequence[float] | np.ndarray) -> np.ndarray:
    """Counts of finite ``values`` in the right-closed open-ended bins defined by ``cuts`` (len(cuts) + 1 bins)."""
    cut_array = np.asarray(cuts, dtype=float)
    index = np.searchsorted(cut_array, _finite(values), side="left")
    return np.bincount(index, minlength=cut_array.size + 1)


def psi_from_counts(
    reference_counts: Sequence[int] | np.ndarray, recent_counts: Sequence[int] | np.ndarray, epsilon: float = 1e-4
) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over bins, shares of zero replaced by ``epsilon``."""
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(recent_counts, dtype=float)
    if ref.shape != cur.shape or ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("PSI needs two non-empty count vectors over the same bins")
    ref_share = ref / ref.sum()
    cur_share = cur / cur.sum()
    ref_share = np.where(ref_share == 0, epsilon, ref_share)
    cur_share = np.where(cur_share == 0, epsilon, cur_share)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def population_stability_index(
    reference: Iterable[float], recent: Iterable[float], bins: int | Sequence[float] = 10, epsilon: float = 1e-4
) -> float:
    """PSI of two samples. ``bins``: a number of reference-quantile bins, or explicit interior cut points.

    Non-finite values are dropped. See :func:`psi_bin_cuts` for the bin layout.
    """
    ref = _finite(reference)
    cur = _finite(recent)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("PSI needs at least one finite value in each sample")
    if isinstance(bins, int | np.integer):
        cuts = psi_bin_cuts(ref, int(bins))
    else:
        cuts = np.asarray(bins, dtype=float)
        if cuts.ndim != 1 or np.any(np.diff(cuts) <= 0) or not np.all(np.isfinite(cuts)):
            raise ValueError("explicit PSI cut points must be finite and strictly increasing")
    return psi_from_counts(bin_counts(ref, cuts), bin_counts(cur, cuts), epsilon)


def _finite(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(values if isinstance(values, np.ndarray | pd.Series) else list(values), dtype=float)
    return array[np.isfinite(array)]


def _numeric_values(series: pd.Series, feature: str, window: str, table_name: str) -> np.ndarray:
    """Float values (missing -> NaN); non-numeric data is an input error, not silently coerced to NaN."""
    try:
        numeric = pd.to_numeric(series, errors="raise")
        return numeric.to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise DriftInputError(
            f"numeric feature {feature!r} of table {table_name!r} has non-numeric values in the {window} window: {exc}"
        ) from exc


def _numeric_feature(
    name: str, ref_series: pd.Series, cur_series: pd.Series, thresholds: DriftThresholds, table_name: str
) -> FeatureDrift:
    ref_all = _numeric_values(ref_series, name, "reference", table_name)
    cur_all = _numeric_values(cur_series, name, "recent", table_name)
    ref = ref_all[np.isfinite(ref_all)]
    cur = cur_all[np.isfinite(cur_all)]
    base = FeatureDrift(
        feature=name,
        kind="numeric",
        ref_rows=int(ref_all.size),
        cur_rows=int(cur_all.size),
        ref_nan=int(ref_all.size - ref.size),
        cur_nan=int(cur_all.size - cur.size),
    )
    if ref.size == 0 or cur.size == 0:
        drifted, reasons = _missing_verdict(ref.size, cur.size)
        return replace(base, drifted=drifted, reasons=reasons)

    cuts = psi_bin_cuts(ref, thresholds.psi_bins)
    ref_counts = bin_counts(ref, cuts)
    cur_counts = bin_counts(cur, cuts)
    psi = psi_from_counts(ref_counts, cur_counts, thresholds.psi_epsilon)
    ks = ks_2samp(ref, cur)
    drifted = psi >= thresholds.psi_threshold
    reasons = (f"PSI {psi:.3f} >= {thresholds.psi_threshold:g}",) if drifted else ()
    distribution = Distribution(
        labels=tuple(_bin_labels(cuts)),
        reference=tuple(int(c) for c in ref_counts),
        recent=tuple(int(c) for c in cur_counts),
        unseen=(False,) * len(ref_counts),
        cuts=tuple(float(c) for c in cuts),
    )
    return replace(
        base,
        psi=psi,
        ks_stat=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        drifted=drifted,
        reasons=reasons,
        distribution=distribution,
    )


def _bin_labels(cuts: np.ndarray) -> list[str]:
    if cuts.size == 0:
        return ["all values"]
    text = [f"{c:.4g}" for c in cuts]
    middle = [f"({lo}, {hi}]" for lo, hi in pairwise(text)]
    return [f"≤ {text[0]}", *middle, f"> {text[-1]}"]


# --------------------------------------------------------------------------------------------------------------
# Categorical statistics
# --------------------------------------------------------------------------------------------------------------


def _categorical_feature(
    name: str, ref_series: pd.Series, cur_series: pd.Series, thresholds: DriftThresholds
) -> FeatureDrift:
    """Categories are compared as strings (so 1 and "1" are the same category) to stay JSON- and HTML-friendly."""
    ref_missing = ref_series.isna()
    cur_missing = cur_series.isna()
    ref_counts = ref_series[~ref_missing].astype(str).value_counts(sort=True)
    cur_counts = cur_series[~cur_missing].astype(str).value_counts(sort=True)
    base = FeatureDrift(
        feature=name,
        kind="categorical",
        ref_rows=len(ref_series),
        cur_rows=len(cur_series),
        ref_nan=int(ref_missing.sum()),
        cur_nan=int(cur_missing.sum()),
    )
    # Union of categories: reference order first (by count), then recent-only ones (by count).
    categories = list(ref_counts.index) + [c for c in cur_counts.index if c not in ref_counts.index]
    ref = ref_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.int64)
    cur = cur_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.int64)

    unseen = tuple(
        sorted(
            (
                UnseenCategory(category=c, rows=int(n), share=int(n) / len(cur_series))
                for c, r, n in zip(categories, ref, cur, strict=True)
                if r == 0 and n > 0
            ),
            key=lambda u: (-u.rows, u.category),
        )
    )
    unseen_share = sum(u.rows for u in unseen) / len(cur_series) if len(cur_series) else 0.0
    distribution = Distribution(
        labels=tuple(categories),
        reference=tuple(int(v) for v in ref),
        recent=tuple(int(v) for v in cur),
        unseen=tuple(bool(r == 0 and n > 0) for r, n in zip(ref, cur, strict=True)),
    )
    if ref.sum() == 0 or cur.sum() == 0:
        drifted, missing_reasons = _missing_verdict(int(ref.sum()), int(cur.sum()))
        return replace(base, drifted=drifted, reasons=missing_reasons, distribution=distribution)

    js = float(jensenshannon(ref, cur, base=2))
    if math.isnan(js):  # both inputs are valid distributions: NaN only comes from sqrt of a rounding-negative ~0
        js = 0.0
    chi2, chi2_p = _chi_square(ref, cur)

    reasons: list[str] = []
    if js >= thresholds.js_threshold:
        reasons.append(f"JS distance {js:.3f} >= {thresholds.js_threshold:g}")
    if unseen and unseen_share >= thresholds.unseen_share_threshold:
        reasons.append(
            f"{len(unseen)} unseen categor{'y' if len(unseen) == 1 else 'ies'} in {unseen_share:.1%} of recent rows "
            f"(>= {thresholds.unseen_share_threshold:.1%})"
        )
    return replace(
        base,
        js_distance=js,
        chi2=chi2,
        chi2_pvalue=chi2_p,
        unseen_categories=unseen,
        unseen_share=unseen_share,
        drifted=bool(reasons),
        reasons=tuple(reasons),
        distribution=distribution,
    )


def _chi_square(ref: np.ndarray, cur: np.ndarray) -> tuple[float | None, float | None]:
    """Pearson chi-square on the 2 x K table; one category is "no evidence of change" (0, p=1); none is None."""
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 0:
        return None, None
    if table.shape[1] == 1:
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _missing_verdict(ref_values: int, cur_values: int) -> tuple[bool, tuple[str, ...]]:
    """A window without any non-missing value has no statistics; the feature drifted if the other window has some."""
    if ref_values == 0 and cur_values == 0:
        return False, ()
    empty_window = "recent" if cur_values == 0 else "reference"
    return True, (f"no non-missing values in the {empty_window} window",)


# --------------------------------------------------------------------------------------------------------------
# Volume
# --------------------------------------------------------------------------------------------------------------


def _window_dates(
    frame: pd.DataFrame, date_column: str, declared: DateRange | None, window: str, table_name: str
) -> tuple[pd.Series, int, DateRange]:
    """Valid calendar days of a window's rows, the count of rows without a usable date, and the window's range."""
    parsed = pd.to_datetime(frame[date_column], errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)  # keep local wall-clock days
    valid = parsed.dropna().dt.normalize()
    missing = len(parsed) - len(valid)
    if valid.empty:
        raise DriftInputError(
            f"{window} window of table {table_name!r} ({declared or 'no declared date range'}) has {len(frame)} rows "
            f"but none with a valid date in column {date_column!r}"
        )
    days = pd.Series([d.date() for d in valid], dtype=object)
    date_range = declared or DateRange(valid.min().date(), valid.max().date())
    return days, missing, date_range


def _volume(
    date_column: str,
    ref_days: pd.Series,
    cur_days: pd.Series,
    ref_missing: int,
    cur_missing: int,
    ref_range: DateRange,
    cur_range: DateRange,
    thresholds: DriftThresholds,
) -> VolumeDrift:
    ref_mean = len(ref_days) / ref_range.days
    cur_mean = len(cur_days) / cur_range.days
    ratio = cur_mean / ref_mean  # ref_mean > 0: _window_dates guarantees a valid date
    ref_per_day = ref_days.value_counts()
    cur_per_day = cur_days.value_counts()
    return VolumeDrift(
        date_column=date_column,
        reference_rows=len(ref_days) + ref_missing,
        recent_rows=len(cur_days) + cur_missing,
        reference_days=ref_range.days,
        recent_days=cur_range.days,
        reference_daily_mean=ref_mean,
        recent_daily_mean=cur_mean,
        ratio=ratio,
        reference_zero_days=tuple(d for d in ref_range.dates() if ref_per_day.get(d, 0) == 0),
        recent_zero_days=tuple(d for d in cur_range.dates() if cur_per_day.get(d, 0) == 0),
        reference_missing_dates=ref_missing,
        recent_missing_dates=cur_missing,
        flagged=not (thresholds.min_volume_ratio <= ratio <= thresholds.max_volume_ratio),
    )


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def compute_drift(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    date_column: str | None,
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
    table_name: str = "table",
    *,
    reference_window: DateRange | tuple[DateLike, DateLike] | None = None,
    recent_window: DateRange | tuple[DateLike, DateLike] | None = None,
) -> DriftResult:
    """Drift of ``numeric`` and ``categorical`` features (and of daily volume, when ``date_column`` is given).

    The caller selects the two windows' rows; ``reference_window`` / ``recent_window`` are their declared
    calendar bounds. Declare them when you can: they name the window in errors about empty windows, and make
    days without any rows at the start or end of a window count as empty days (without them a window's range is
    its first..last date seen).

    Raises DriftInputError when a window is empty, a feature column is missing, a numeric feature holds
    non-numeric data, or a window has rows but no valid date.
    """
    ref_window = DateRange.coerce(reference_window)
    cur_window = DateRange.coerce(recent_window)
    _check_not_empty(reference, recent, ref_window, cur_window, date_column, table_name)
    numeric, categorical = list(numeric), list(categorical)
    _check_columns(reference, recent, numeric, categorical, date_column, table_name)

    features: list[FeatureDrift] = []
    for name in numeric:
        features.append(_numeric_feature(name, reference[name], recent[name], thresholds, table_name))
    for name in categorical:
        features.append(_categorical_feature(name, reference[name], recent[name], thresholds))

    volume = None
    ref_range, cur_range = ref_window, cur_window
    if date_column is not None:
        ref_days, ref_missing, ref_range = _window_dates(reference, date_column, ref_window, "reference", table_name)
        cur_days, cur_missing, cur_range = _window_dates(recent, date_column, cur_window, "recent", table_name)
        volume = _volume(date_column, ref_days, cur_days, ref_missing, cur_missing, ref_range, cur_range, thresholds)

    return DriftResult(
        table_name=table_name,
        features=tuple(features),
        thresholds=thresholds,
        reference_rows=len(reference),
        recent_rows=len(recent),
        reference_range=ref_range,
        recent_range=cur_range,
        volume=volume,
    )


def _check_not_empty(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    ref_window: DateRange | None,
    cur_window: DateRange | None,
    date_column: str | None,
    table_name: str,
) -> None:
    empty = []
    for window, frame, declared in (("reference", reference, ref_window), ("recent", recent, cur_window)):
        if len(frame) == 0:
            where = f"dates {declared}" if declared else "date range not declared"
            if date_column:
                where += f", date column {date_column!r}"
            empty.append(f"the {window} window ({where})")
    if empty:
        raise DriftInputError(
            f"cannot compute drift for table {table_name!r}: {' and '.join(empty)} "
            f"{'have' if len(empty) > 1 else 'has'} no rows; "
            "an empty window is an upstream problem, not an absence of drift"
        )


def _check_columns(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    date_column: str | None,
    table_name: str,
) -> None:
    overlap = sorted(set(numeric) & set(categorical))
    if overlap:
        raise DriftInputError(f"features listed as both numeric and categorical: {overlap}")
    wanted = [*numeric, *categorical, *([date_column] if date_column else [])]
    duplicates = sorted({c for c in wanted if wanted.count(c) > 1})
    if duplicates:
        raise DriftInputError(f"columns listed more than once: {duplicates}")
    for window, frame in (("reference", reference), ("recent", recent)):
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise DriftInputError(f"the {window} window of table {table_name!r} lacks columns {missing}")


def _json_float(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
