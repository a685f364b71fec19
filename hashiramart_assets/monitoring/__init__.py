"""Data drift monitoring: compare a recent window of a table with a reference window.

Plain functions (no Dagster, no I/O) so the statistics can be unit-tested with hand-checked numbers and
reused by any asset or check: :mod:`.drift` computes the statistics, :mod:`.drift_report` renders them as a
self-contained HTML page and a short Markdown summary, :mod:`.svg` draws the inline charts.
"""

from hashiramart_assets.monitoring.drift import (
    DateRange,
    Distribution,
    DriftInputError,
    DriftResult,
    DriftThresholds,
    FeatureDrift,
    UnseenCategory,
    VolumeDrift,
    compute_drift,
    population_stability_index,
    psi_bin_cuts,
)
from hashiramart_assets.monitoring.drift_report import render_html, render_markdown

__all__ = [
    "DateRange",
    "Distribution",
    "DriftInputError",
    "DriftResult",
    "DriftThresholds",
    "FeatureDrift",
    "UnseenCategory",
    "VolumeDrift",
    "compute_drift",
    "population_stability_index",
    "psi_bin_cuts",
    "render_html",
    "render_markdown",
]
