"""Render a :class:`~hashiramart_assets.monitoring.drift.DriftResult` as a self-contained HTML page or Markdown.

Why two formats: the HTML page is the artefact a human opens to see *what* moved (one plot per drifted feature);
the Markdown is a few lines for Dagster asset metadata, where only headline numbers and the drifted features fit.
The HTML has inline CSS and inline SVG only (the platform is offline: no JS, CDN or URL). All text that can come
from data (table, feature and category names) is escaped.
"""

from __future__ import annotations

import math

from hashiramart_assets.monitoring.drift import DriftResult, FeatureDrift, UnseenCategory
from hashiramart_assets.monitoring.svg import RECENT_COLOR, REFERENCE_COLOR, BarSeries, esc, grouped_bar_chart

TOP_CATEGORIES = 20
MARKDOWN_UNSEEN_LIMIT = 10
HTML_UNSEEN_LIMIT = 5

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
tr.drifted td { background: #fde2e1; } .flag { color: #c0392b; font-weight: bold; } .ok { color: #2e7d32; }
.summary td:first-child { text-align: left; font-weight: bold; } .muted { color: #666; font-size: 12px; }
figure { margin: 12px 0 24px 0; } figcaption { font-size: 12px; color: #444; }
"""


def render_html(result: DriftResult, title: str | None = None) -> str:
    """A complete HTML page: summary, table of all features (drifted rows highlighted), one SVG per drifted feature."""
    title = title or f"Drift report: {result.table_name}"
    body = [
        f"<h1>{esc(title)}</h1>",
        _html_summary(result),
        "<h2>Features</h2>",
        _html_feature_table(result),
        "<h2>Drifted features</h2>",
    ]
    drifted = result.drifted_features
    if drifted:
        body.extend(_html_feature_plot(f) for f in drifted)
    else:
        body.append("<p>No feature drifted.</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render_markdown(result: DriftResult) -> str:
    """Headline numbers, a table of the drifted features only, and the unseen categories."""
    drifted = result.drifted_features
    lines = [
        f"**Drift of {_md(result.table_name)}: {len(drifted)} of {len(result.features)} features drifted "
        f"({result.share_drifted:.1%})**",
        "",
        f"- Reference: {_md(_range_text(result, 'reference'))}; recent: {_md(_range_text(result, 'recent'))}",
    ]
    if result.max_psi is not None:
        lines.append(f"- Max PSI: {_num(result.max_psi)} ({_md(result.max_psi_feature or '')})")
    unseen = result.unseen_categories
    n_unseen = sum(len(v) for v in unseen.values())
    lines.append(f"- Unseen categories: {n_unseen} in {len(unseen)} feature{'' if len(unseen) == 1 else 's'}")
    if result.volume is not None:
        lines.append(f"- Volume: {_md(_volume_text(result))}")
    if drifted:
        lines += [
            "",
            "| feature | kind | PSI | KS | JS | unseen share | why |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for f in drifted:
            lines.append(
                f"| {_md(f.feature)} | {f.kind} | {_num(f.psi)} | {_num(f.ks_stat)} | {_num(f.js_distance)} | "
                f"{_share(f.unseen_share) if f.kind == 'categorical' else '–'} | {_md('; '.join(f.reasons))} |"
            )
    if unseen:
        lines += ["", "**Unseen categories** (recent rows, share of recent rows):"]
        for feature, categories in unseen.items():
            lines.append(f"- {_md(feature)}: {_md(_unseen_text(categories, MARKDOWN_UNSEEN_LIMIT))}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# HTML pieces
# --------------------------------------------------------------------------------------------------------------


def _html_summary(result: DriftResult) -> str:
    t = result.thresholds
    drifted = result.drifted_features
    unseen = result.unseen_categories
    n_unseen = sum(len(v) for v in unseen.values())
    share_class = "flag" if drifted else "ok"
    rows = [
        ("Table", esc(result.table_name)),
        ("Reference window", esc(_range_text(result, "reference"))),
        ("Recent window", esc(_range_text(result, "recent"))),
        (
            "Features drifted",
            f'<span class="{share_class}">{len(drifted)} of {len(result.features)} ({result.share_drifted:.1%})</span>',
        ),
        (
            "Max PSI",
            "–"
            if result.max_psi is None
            else f"{_num(result.max_psi)} ({esc(result.max_psi_feature or '')}); threshold {t.psi_threshold:g}",
        ),
        (
            "Unseen categories",
            f"{n_unseen} in {len(unseen)} feature(s)"
            + "".join(
                f"<br>{esc(name)}: {esc(_unseen_text(cats, HTML_UNSEEN_LIMIT))}" for name, cats in unseen.items()
            ),
        ),
    ]
    if result.volume is not None:
        volume_class = "flag" if result.volume.flagged else "ok"
        rows.append(("Volume", f'<span class="{volume_class}">{esc(_volume_text(result))}</span>'))
    else:
        rows.append(("Volume", "not checked (no date column)"))
    rows.append(
        (
            "Rules",
            esc(
                f"numeric: PSI ≥ {t.psi_threshold:g}; categorical: JS distance ≥ {t.js_threshold:g} or unseen "
                f"categories in ≥ {t.unseen_share_threshold:.1%} of recent rows; volume ratio outside "
                f"[{t.min_volume_ratio:g}, {t.max_volume_ratio:g}]"
            ),
        )
    )
    cells = "\n".join(f'<tr><td>{name}</td><td class="text">{value}</td></tr>' for name, value in rows)
    return f'<h2>Summary</h2>\n<table class="summary">\n{cells}\n</table>'


def _html_feature_table(result: DriftResult) -> str:
    header = (
        '<tr><th class="text">feature</th><th class="text">kind</th><th>PSI</th><th>KS stat</th><th>KS p</th>'
        '<th>JS distance</th><th>chi²</th><th>chi² p</th><th class="text">unseen categories</th>'
        "<th>unseen share</th><th>ref rows</th><th>recent rows</th><th>ref missing</th><th>recent missing</th>"
        '<th class="text">drifted</th></tr>'
    )
    rows = []
    for f in result.features:
        drifted = f'<span class="flag">yes</span>: {esc("; ".join(f.reasons))}' if f.drifted else "no"
        rows.append(
            f'<tr class="{"drifted" if f.drifted else "stable"}">'
            f'<td class="text">{esc(f.feature)}</td><td class="text">{f.kind}</td>'
            f"<td>{_num(f.psi)}</td><td>{_num(f.ks_stat)}</td><td>{_num(f.ks_pvalue)}</td>"
            f"<td>{_num(f.js_distance)}</td><td>{_num(f.chi2)}</td><td>{_num(f.chi2_pvalue)}</td>"
            f'<td class="text">{esc(_unseen_text(f.unseen_categories, HTML_UNSEEN_LIMIT, counts=False))}</td>'
            f"<td>{_share(f.unseen_share) if f.kind == 'categorical' else '–'}</td>"
            f"<td>{f.ref_rows:,}</td><td>{f.cur_rows:,}</td><td>{f.ref_nan:,}</td><td>{f.cur_nan:,}</td>"
            f'<td class="text">{drifted}</td></tr>'
        )
    return "<table>\n" + header + "\n" + "\n".join(rows) + "\n</table>"


def _html_feature_plot(feature: FeatureDrift) -> str:
    """One figure: the two windows' shares over the same bins (numeric) or top categories (categorical)."""
    dist = feature.distribution
    caption = f"{feature.feature}: {'; '.join(feature.reasons)}."
    if dist is None:
        svg = grouped_bar_chart([], [], title=feature.feature, x_label=feature.feature, y_label="share of rows")
        return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"
    ref_share, cur_share = dist.shares()
    labels, unseen = list(dist.labels), list(dist.unseen)
    if feature.kind == "categorical":
        order = sorted(range(len(labels)), key=lambda i: (-max(ref_share[i], cur_share[i]), labels[i]))
        shown = order[:TOP_CATEGORIES]
        x_label = f"{feature.feature} (top {len(shown)} of {len(labels)} categories by share)"
        if len(labels) > len(shown):
            caption += f" {len(labels) - len(shown)} smaller categories not shown."
        labels = [labels[i] for i in shown]
        unseen = [unseen[i] for i in shown]
        ref_share, cur_share = ref_share[shown], cur_share[shown]
    else:
        x_label = f"{feature.feature} (bins at reference quantiles)"
    svg = grouped_bar_chart(
        labels,
        [BarSeries("reference", list(ref_share), REFERENCE_COLOR), BarSeries("recent", list(cur_share), RECENT_COLOR)],
        title=f"{feature.feature} ({feature.kind})",
        x_label=x_label,
        y_label="share of non-missing rows",
        marked=unseen,
        marked_legend="red label: unseen in reference",
    )
    return f"<figure>\n{svg}\n<figcaption>{esc(caption)}</figcaption>\n</figure>"


# --------------------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------------------


def _range_text(result: DriftResult, window: str) -> str:
    date_range = result.reference_range if window == "reference" else result.recent_range
    rows = result.reference_rows if window == "reference" else result.recent_rows
    return f"{date_range if date_range else 'dates not given'} ({rows:,} rows)"


def _volume_text(result: DriftResult) -> str:
    v = result.volume
    assert v is not None
    t = result.thresholds
    status = "FLAGGED" if v.flagged else "ok"
    zero = ", ".join(d.isoformat() for d in v.recent_zero_days[:7]) + (" …" if len(v.recent_zero_days) > 7 else "")
    return (
        f"{v.recent_daily_mean:,.1f} rows/day vs {v.reference_daily_mean:,.1f} in the reference "
        f"(ratio {v.ratio:.2f}, allowed {t.min_volume_ratio:g}-{t.max_volume_ratio:g}: {status}); "
        f"{len(v.recent_zero_days)} recent day(s) without rows" + (f" ({zero})" if zero else "")
    )


def _unseen_text(categories: tuple[UnseenCategory, ...], limit: int, counts: bool = True) -> str:
    if not categories:
        return ""
    items = [f"{u.category} ({u.rows:,}, {_share(u.share)})" if counts else u.category for u in categories[:limit]]
    more = f", … and {len(categories) - limit} more" if len(categories) > limit else ""
    return ", ".join(items) + more


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:.3f}"


def _share(value: float) -> str:
    return f"{value:.1%}" if value >= 0.001 or value == 0 else f"{value * 100:.2g}%"


def _md(text: str) -> str:
    """Escape for a Markdown table cell / inline text: HTML entities, Markdown punctuation, no line breaks."""
    text = " ".join(str(text).split())
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    return esc(text)
