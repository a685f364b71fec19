"""Asset keys that more than one module names, defined once.

Why: assets, automation (sensors, jobs), monitoring, the metrics exporter and the tests refer to the same
assets; a key spelled as a literal in each of them drifts the day one is renamed. The dbt models' keys
come from dbt's own names through the translator in assets/marts.py (``marts/<model>``); the ones other
modules need are here.
"""

from __future__ import annotations

import dagster as dg

RAW_CUSTOMERS = dg.AssetKey(["raw", "customers"])
RAW_PRODUCTS = dg.AssetKey(["raw", "products"])
RAW_ORDERS = dg.AssetKey(["raw", "orders"])
RAW_EVENTS = dg.AssetKey(["raw", "events"])

FEATURES_CUSTOMER_RFM = dg.AssetKey(["features", "customer_rfm"])
FEATURES_DAILY_SALES = dg.AssetKey(["features", "daily_sales"])
FEATURES_INTERACTIONS = dg.AssetKey(["features", "interactions"])

MARTS_DAILY_SALES = dg.AssetKey(["marts", "daily_sales"])

RECOMMENDER = dg.AssetKey(["models", "recommender"])
SALES_FORECASTER = dg.AssetKey(["models", "sales_forecaster"])
RECOMMENDATIONS = dg.AssetKey(["models", "recommendations"])
SALES_FORECASTS = dg.AssetKey(["models", "sales_forecasts"])

FEATURE_DRIFT = dg.AssetKey(["monitoring", "feature_drift"])
RECOMMENDER_QUALITY = dg.AssetKey(["monitoring", "recommender_quality"])
EXPERIMENT_RESULTS = dg.AssetKey(["monitoring", "experiment_results"])
FORECAST_ACCURACY = dg.AssetKey(["monitoring", "forecast_accuracy"])
