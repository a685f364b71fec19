"""Tiny inline-SVG chart helpers for the drift report.

Why hand-written SVG: the platform runs offline and the report must be one self-contained HTML file, so no
plotting library, JS or CDN. Every piece of text goes through :func:`esc` because labels come from data. The
``<svg>`` element has no ``xmlns`` attribute: inline SVG in HTML5 does not need it, and the report then contains
no URL at all.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

REFERENCE_COLOR = "#4e79a7"
RECENT_COLOR = "#f28e2b"
MARK_COLOR = "#c0392b"


@dataclass(frozen=True)
class BarSeries:
    """One series of a grouped bar chart: one value per group label."""

    name: str
    values: Sequence[float]
    color: str


def esc(text: object) -> str:
    """HTML/SVG-escape any value (quotes too, so it is safe inside attributes)."""
    return html.escape(str(text), quote=True)


def percent(value: float) -> str:
    return f"{value * 100:.1f}%" if value >= 0.001 or value == 0 else f"{value * 100:.2g}%"


def nice_step(span: float, ticks: int = 5) -> float:
    """A 1/2/2.5/5 x 10^k step giving about ``ticks`` intervals over ``span`` (> 0)."""
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def truncate(text: str, limit: int = 22) -> str:
    """Shorten in the middle: long names often differ only at the end ("... size 42" vs "... size 44")."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def grouped_bar_chart(
    labels: Sequence[str],
    series: Sequence[BarSeries],
    *,
    title: str,
    x_label: str,
    y_label: str,
    marked: Sequence[bool] | None = None,
    marked_legend: str = "",
    value_format: Callable[[float], str] = percent,
    height: int = 340,
) -> str:
    """Grouped vertical bars (one group per label, one bar per series) with axes, ticks, axis labels and a legend.

    ``marked[i]`` draws label ``i`` in red and bold (e.g. a category unseen in the reference); ``marked_legend``
    explains the marking in the legend. Each bar has a ``<title>`` tooltip with the exact value.
    """
    n_groups, n_series = len(labels), len(series)
    left, right, top, bottom = 96, 16, 52, 118  # wide left margin: rotated x labels run down-left
    entries = [(s.name, s.color, False) for s in series]
    if marked_legend and marked and any(marked):
        entries.append((marked_legend, MARK_COLOR, True))
    entry_widths = [7.0 * len(name) + (14 if is_text else 30) for name, _, is_text in entries]
    group_width = max(34.0, 14.0 * n_series + 12.0)
    plot_width = max(group_width * n_groups, 300.0, sum(entry_widths))
    width = int(left + plot_width + right)
    plot_height = height - top - bottom
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{esc(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{esc(title)}</text>',
    ]
    values = [float(v) for s in series for v in s.values if math.isfinite(float(v))]
    if n_groups == 0 or not values:
        parts.append(f'<text x="{left}" y="{top + plot_height / 2:.1f}" fill="#555">no data to plot</text></svg>')
        return "".join(parts)

    step = nice_step(max(values)) if max(values) > 0 else 0.2
    y_max = step * max(1, math.ceil(max(values) / step - 1e-9))

    def y_of(value: float) -> float:
        return top + plot_height * (1 - value / y_max)

    # Gridlines and y ticks.
    tick = 0.0
    while tick <= y_max + step / 2:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_width:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(value_format(tick))}</text>')
        tick += step
    # Bars and x labels.
    bar_width = (group_width - 10.0) / n_series
    group_width = plot_width / n_groups
    for i, label in enumerate(labels):
        x0 = left + i * group_width + (group_width - bar_width * n_series) / 2
        for j, s in enumerate(series):
            value = float(s.values[i]) if math.isfinite(float(s.values[i])) else 0.0
            y = y_of(value)
            parts.append(
                f'<rect x="{x0 + j * bar_width:.1f}" y="{y:.1f}" width="{bar_width - 1:.1f}" '
                f'height="{top + plot_height - y:.1f}" fill="{esc(s.color)}">'
                f"<title>{esc(s.name)}, {esc(label)}: {esc(value_format(value))}</title></rect>"
            )
        cx = left + (i + 0.5) * group_width
        ly = top + plot_height + 12
        is_marked = bool(marked and marked[i])
        style = f' fill="{MARK_COLOR}" font-weight="bold"' if is_marked else ""
        parts.append(
            f'<text x="{cx:.1f}" y="{ly:.1f}" text-anchor="end" transform="rotate(-40 {cx:.1f} {ly:.1f})"{style}>'
            f"<title>{esc(label)}</title>{esc(truncate(label))}</text>"
        )
    # Axes and axis labels.
    axis_y = top + plot_height
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}" stroke="#333"/>')
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_width:.1f}" y2="{axis_y}" stroke="#333"/>')
    parts.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12">'
        f"{esc(x_label)}</text>"
    )
    mid_y = top + plot_height / 2
    parts.append(
        f'<text x="14" y="{mid_y:.1f}" text-anchor="middle" font-size="12" transform="rotate(-90 14 {mid_y:.1f})">'
        f"{esc(y_label)}</text>"
    )
    # Legend (top right, one row): a swatch per series, the marking explained in its own colour.
    x = left + plot_width
    for (name, color, is_text), entry_width in zip(reversed(entries), reversed(entry_widths), strict=True):
        x -= entry_width
        if is_text:
            parts.append(f'<text x="{x:.1f}" y="37" fill="{esc(color)}" font-weight="bold">{esc(name)}</text>')
        else:
            parts.append(f'<rect x="{x:.1f}" y="27" width="12" height="12" fill="{esc(color)}"/>')
            parts.append(f'<text x="{x + 16:.1f}" y="37">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
