"""A tiny code location with the two training asset keys, for the admin job endpoints' tests.

Why not the real code location: launching it would need the whole lake and warehouse; what the API
depends on is only Dagster's GraphQL contract (find the asset, launch a run, read its status).
"""

import dagster as dg


@dg.asset(key=["models", "recommender"])
def recommender() -> int:
    return 1


@dg.asset(key=["models", "sales_forecaster"])
def sales_forecaster() -> int:
    return 2


defs = dg.Definitions(assets=[recommender, sales_forecaster])
