"""HTML / Markdown drift reports: self-contained, escaped, one plot per drifted feature."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.monitoring.drift import DriftResult, compute_drift
from hashiramart_assets.monitoring.drift_report import render_html, render_markdown
from hashiramart_assets.monitoring.svg import BarSeries, grouped_bar_chart, nice_step

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def drifted_result() -> DriftResult:
    """price x 1.25 (drifted), quantity stable, channel with 10% of an unseen category named like a script tag."""
    rng = np.random.default_rng(7)
    n_ref, n_cur = 2800, 700
    reference = pd.DataFrame(
        {
            "order_date": pd.Timestamp("2024-04-01") + pd.to_timedelta(np.arange(n_ref) % 28, unit="D"),
            "price": rng.normal(100, 10, n_ref),
            "quantity": rng.integers(1, 4, n_ref),
            "channel": rng.choice(["web", "app", "store"], n_ref),
        }
    )
    channel = rng.choice(["web", "app", "store"], n_cur).astype(object)
    channel[:70] = SCRIPT
    recent = pd.DataFrame(
        {
            "order_date": pd.Timestamp("2024-04-29") + pd.to_timedelta(np.arange(n_cur) % 7, unit="D"),
            "price": rng.normal(100, 10, n_cur) * 1.25,
            "quantity": rng.integers(1, 4, n_cur),
            "channel": channel,
        }
    )
    return compute_drift(
        reference, recent, ["price", "quantity"], ["channel"], "order_date", table_name="orders & <returns>",
        reference_window=("2024-04-01", "2024-04-28"), recent_window=("2024-04-29", "2024-05-05"),
    )  # fmt: skip


def test_html_has_one_svg_per_drifted_feature_and_highlights_their_rows(drifted_result: DriftResult) -> None:
    assert [f.feature for f in drifted_result.drifted_features] == ["price", "channel"]
    page = render_html(drifted_result, title="Orders drift")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2 and page.count("</svg>") == 2
    assert page.count('<tr class="drifted">') == 2 and page.count('<tr class="stable">') == 1
    for needle in ("Features drifted", "Max PSI", "Unseen categories", "Volume", "reference", "recent"):
        assert needle in page
    # axis labels and legend of the plots
    assert "share of non-missing rows" in page and "price (bins at reference quantiles)" in page
    assert "red label: unseen in reference" in page


def test_html_escapes_data_and_is_self_contained(drifted_result: DriftResult) -> None:
    page = render_html(drifted_result, title="Orders <drift>")
    assert SCRIPT not in page and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "orders &amp; &lt;returns&gt;" in page and "Orders &lt;drift&gt;" in page
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(link|img|iframe|object)\b", page) and "src=" not in page


def test_unseen_category_label_is_marked_in_the_plot(drifted_result: DriftResult) -> None:
    page = render_html(drifted_result)
    channel_svg = re.findall(r"<svg.*?</svg>", page, re.S)[1]
    marked = re.search(r'<text [^>]*fill="#c0392b" font-weight="bold"><title>([^<]*)</title>', channel_svg)
    assert marked and marked.group(1) == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_html_without_drift_has_no_plot() -> None:
    frame = pd.DataFrame({"price": [1.0, 2.0, 3.0], "c": ["a", "b", "b"]})
    page = render_html(compute_drift(frame, frame, ["price"], ["c"], None))
    assert "<svg" not in page and "No feature drifted." in page and "not checked (no date column)" in page


def test_categorical_plot_shows_top_20_categories() -> None:
    reference = pd.DataFrame({"c": [f"cat{i:02d}" for i in range(30) for _ in range(i + 1)]})
    recent = pd.DataFrame({"c": [f"cat{i:02d}" for i in range(30) for _ in range(30 - i)]})
    result = compute_drift(reference, recent, [], ["c"], None)
    assert result.feature("c").drifted
    svg = re.findall(r"<svg.*?</svg>", render_html(result), re.S)[0]
    assert svg.count("<rect") == 20 * 2 + 2  # two bars per shown category + two legend swatches
    assert "top 20 of 30 categories" in svg


def test_markdown_lists_only_drifted_features_and_unseen_categories(drifted_result: DriftResult) -> None:
    md = render_markdown(drifted_result)
    assert "2 of 3 features drifted (66.7%)" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in table_rows] == ["feature", "price", "channel"]
    assert "quantity" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (70, 10.0%)" in md and SCRIPT not in md
    assert "Max PSI" in md and "Volume" in md


def test_markdown_escapes_pipes_in_names() -> None:
    reference = pd.DataFrame({"a|b": ["x"] * 10})
    recent = pd.DataFrame({"a|b": ["y|z"] * 10})
    md = render_markdown(compute_drift(reference, recent, [], ["a|b"], None))
    row = next(line for line in md.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b | categorical |")
    assert len(re.split(r"(?<!\\)\|", row)) == 9  # 7 cells between 8 unescaped pipes


def test_svg_helpers() -> None:
    assert [nice_step(x) for x in (1.0, 0.43, 0.07, 130.0)] == [0.2, 0.1, 0.02, 50.0]
    empty = grouped_bar_chart([], [], title="t", x_label="x", y_label="y")
    assert empty.startswith("<svg") and "no data to plot" in empty
    chart = grouped_bar_chart(
        ["a", "b"], [BarSeries("s", [0.1, 0.3], "#000")], title="T", x_label="X axis", y_label="Y axis"
    )
    assert "X axis" in chart and "Y axis" in chart and chart.count("<rect") == 3
