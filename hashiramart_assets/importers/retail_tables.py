"""The landing tables (order lines, purchase events, customers, products) derived from accepted sales.

The export holds only invoice lines, so the dimensions are derived from what was sold:
  - customers: signup_date = day of the first accepted purchase; country = the country of most of
    their lines; region = coarse region of that country (regions.py); segment = "unknown" - the
    file carries no segment and any threshold on basket size would be invented, so RFM or a later
    model should assign one;
  - products: name = the most frequent non-empty description (stripped; the product id if none),
    department/category by keyword rule (categories.py) - or, when the export has a category column,
    its most frequent non-empty value per product ("Home > Kitchen" splits into department > category,
    a single level is both; none at all is Other > Other) - base_price = median accepted unit price,
    launch_date = first day sold.
Ties in "most frequent" go to the alphabetically first value, so the import is deterministic.
Returns (lines with is_return, landed only when an importer is told to) count for the dimensions but
get no purchase event.
"""

from __future__ import annotations

import pandas as pd

from hashiramart_assets.importers.categories import categorise
from hashiramart_assets.importers.regions import region_of


def most_frequent(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Per ``key``, the most frequent ``value`` (ties: alphabetically first), vectorised."""
    counts = frame.groupby([key, value], sort=False, observed=True).size().rename("_n").reset_index()
    counts = counts.sort_values([key, "_n", value], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[value]


def order_lines(sales: pd.DataFrame) -> pd.DataFrame:
    """Landing order lines from accepted sales (columns invoice, ts, customer_id, product_id, quantity,
    unit_price, country, description; optionally channel, is_return and category), numbered 1..n within
    each invoice in file order."""
    lines = pd.DataFrame({
        "order_id": sales["invoice"],
        "line_no": (sales.groupby("invoice", sort=False).cumcount() + 1).astype("int32"),
        "order_ts": sales["ts"],
        "customer_id": sales["customer_id"].astype("int64"),
        "product_id": sales["product_id"],
        "quantity": sales["quantity"].astype("int32"),
        "unit_price": sales["unit_price"].astype("float64"),
        "list_price": sales["unit_price"].astype("float64"),  # no catalogue price in the file
        "promo": False,
        # Online Retail quarantines cancellations, so every landed line is a sale there
        "is_return": sales.get("is_return", False),
        "channel": sales.get("channel", "unknown"),
        "country": sales["country"],
        "description": sales["description"],
    })
    if "category" in sales:
        lines["category"] = sales["category"]
    # The landing partition as ISO text, formatted once per distinct day rather than once per line.
    codes, days = pd.factorize(lines["order_ts"].dt.normalize())
    lines["day"] = pd.Categorical.from_codes(codes, categories=pd.DatetimeIndex(days).strftime("%Y-%m-%d"))
    return lines


def purchase_events(lines: pd.DataFrame) -> pd.DataFrame:
    """One purchase event per order line that is not a return; the invoice stands in for the (unknown) session."""
    lines = lines.loc[~lines["is_return"].astype(bool)]
    return pd.DataFrame({
        "event_id": "E-" + lines["order_id"].astype(str) + "-" + lines["line_no"].astype(str),
        "event_ts": lines["order_ts"],
        "customer_id": lines["customer_id"],
        "session_id": lines["order_id"],
        "product_id": lines["product_id"],
        "event_type": "purchase",
        "order_id": lines["order_id"],
    })


def customers(lines: pd.DataFrame) -> pd.DataFrame:
    first = lines.groupby("customer_id")["order_ts"].min().dt.normalize().rename("signup_date")
    country = most_frequent(lines, "customer_id", "country").rename("country")
    out = pd.concat([first, country], axis=1).rename_axis("customer_id").reset_index()
    out["segment"] = "unknown"
    out["region"] = region_of(out["country"]).to_numpy()
    return out


def products(lines: pd.DataFrame) -> pd.DataFrame:
    stats = lines.groupby("product_id").agg(base_price=("unit_price", "median"), launch_date=("order_ts", "min"))
    stats["launch_date"] = stats["launch_date"].dt.normalize()
    described = lines.loc[lines["description"] != "", ["product_id", "description"]]
    names = most_frequent(described, "product_id", "description")
    stats["name"] = names.reindex(stats.index).fillna(stats.index.to_series()).astype(str)
    out = stats.rename_axis("product_id").reset_index()
    tree = categorise(out["name"]) if "category" not in lines else given_categories(lines, out["product_id"])
    out["department"], out["category"] = tree["department"].to_numpy(), tree["category"].to_numpy()
    out["category_path"] = out["department"] + " > " + out["category"]
    return out


def given_categories(lines: pd.DataFrame, product_ids: pd.Series) -> pd.DataFrame:
    """department and category per product (same index as ``product_ids``) from the export's own category
    column: the most frequent non-empty value, split at ">" (first level = department, last = category)."""
    named = lines.loc[lines["category"].fillna("").str.strip() != "", ["product_id", "category"]]
    text = most_frequent(named, "product_id", "category").reindex(product_ids.to_numpy()).fillna("")
    levels = text.str.split(">").map(lambda parts: [p.strip() for p in parts if p.strip()] or ["Other"])
    return pd.DataFrame({"department": levels.str[0].to_numpy(), "category": levels.str[-1].to_numpy()},
                        index=product_ids.index)
