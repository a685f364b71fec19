"""How the champion recommender does on what happened after its training data ended.

Offline: for each customer who bought after the champion's data end (within the window), the
champion's top-k against the products bought, with the same metric functions as training.

Online: CTR from the serving feedback table (impressions and clicks written by the API) over the last
``feedback_days`` of wall-clock time when it has rows there; until then a clickstream proxy: of the
top-k products recommended to customers active in the data window, the share they went on to view or
put in the cart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from hashiramart_assets.ml.recommender import metrics as m

K = 10


@dataclass(frozen=True)
class QualityReport:
    customers_scored: int
    precision_at_10: float | None
    recall_at_10: float | None
    ndcg_at_10: float | None
    ctr: float | None
    ctr_source: str  # "feedback", "clickstream_proxy" or "none"
    impressions: int
    clicks: int

    def metadata(self) -> dict[str, float | str]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def _after(frame: pd.DataFrame, column: str, since: date, until: date) -> pd.DataFrame:
    day = pd.to_datetime(frame[column]).dt.normalize()
    return frame[(day > pd.Timestamp(since)) & (day <= pd.Timestamp(until))]


def offline_metrics(
    top_k: pd.DataFrame, orders: pd.DataFrame, since: date, until: date
) -> tuple[int, dict[str, float | None]]:
    """Mean precision/recall/NDCG@10 of ``top_k`` (customer_id, rank, product_id) on purchases in (since, until]."""
    bought = _after(orders, "order_ts", since, until)
    bought = bought[(bought["quantity"] > 0) & ~bought["is_return"].astype(bool)]
    relevant = {int(c): set(map(str, g)) for c, g in bought.groupby("customer_id")["product_id"]}
    if not relevant:
        return 0, {"precision_at_10": None, "recall_at_10": None, "ndcg_at_10": None}
    shown = top_k[top_k["customer_id"].isin(relevant)].astype({"customer_id": "int64", "product_id": str})
    table = m.per_customer_at_k(shown, m.relevant_pairs(relevant), K)
    return len(relevant), {f"{name}_at_10": float(table[name].mean()) for name in ("precision", "recall", "ndcg")}


def clickstream_ctr(top_k: pd.DataFrame, events: pd.DataFrame, since: date, until: date) -> tuple[int, int]:
    """(impressions, clicks): top-k of customers active in (since, until], and those they viewed or carted."""
    recent = _after(events, "event_ts", since, until)
    recent = recent[recent["event_type"].isin(["view", "add_to_cart"])]
    active = recent["customer_id"].unique()
    shown = top_k[top_k["customer_id"].isin(active) & (top_k["rank"] <= K)][["customer_id", "product_id"]]
    touched = recent[["customer_id", "product_id"]].drop_duplicates()
    clicks = shown.merge(touched, on=["customer_id", "product_id"], how="inner")
    return len(shown), len(clicks)


def feedback_ctr(feedback: pd.DataFrame, now: pd.Timestamp, days: int) -> tuple[int, int]:
    """(impressions, clicks) the API recorded in the ``days`` before ``now`` (timestamps compared in UTC).

    Rows are events, or counts of them when the frame has a column ``n`` (hourly sums read from Postgres).
    """
    ts = pd.to_datetime(feedback["ts"], utc=True)
    recent = feedback[ts > now.tz_localize("UTC") - pd.Timedelta(days=days)] if now.tzinfo is None else \
        feedback[ts > now - pd.Timedelta(days=days)]
    weight = recent["n"] if "n" in recent else pd.Series(1, index=recent.index)
    return int(weight[recent["event"] == "impression"].sum()), int(weight[recent["event"] == "click"].sum())


def quality_report(
    top_k: pd.DataFrame,
    orders: pd.DataFrame,
    events: pd.DataFrame,
    feedback: pd.DataFrame | None,
    since: date,
    until: date,
    now: pd.Timestamp | None = None,
    feedback_days: int = 7,
) -> QualityReport:
    """Offline metrics on (since, until] and CTR; the API's feedback wins over the clickstream proxy."""
    customers, offline = offline_metrics(top_k, orders, since, until)
    impressions, clicks, source = 0, 0, "none"
    if feedback is not None and len(feedback):
        impressions, clicks = feedback_ctr(feedback, now if now is not None else pd.Timestamp.now("UTC"),
                                           feedback_days)
        source = "feedback"
    if not impressions:
        impressions, clicks = clickstream_ctr(top_k, events, since, until)
        source = "clickstream_proxy"
    ctr = clicks / impressions if impressions else None
    return QualityReport(customers, offline["precision_at_10"], offline["recall_at_10"], offline["ndcg_at_10"],
                         ctr, source if impressions else "none", impressions, clicks)
