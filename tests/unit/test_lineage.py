"""The lineage graph is the product: pin every asset key, its dependencies and its checks."""

from __future__ import annotations

import dagster as dg

from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.settings import load_settings

EXPECTED_PARENTS = {
    "raw/customers": set(),
    "raw/products": set(),
    "raw/orders": {"raw/customers", "raw/products"},
    "raw/events": {"raw/customers", "raw/products"},
    "features/interactions": {"raw/orders", "raw/events"},
    "features/customer_rfm": {"raw/customers", "raw/orders", "raw/events"},
    "features/daily_sales": {"raw/orders", "raw/products"},
    "warehouse/raw_customers": {"raw/customers"},
    "warehouse/raw_products": {"raw/products"},
    "warehouse/raw_orders": {"raw/orders"},
    "warehouse/raw_events": {"raw/events"},
    "warehouse/features_customer_rfm": {"features/customer_rfm"},
    "staging/stg_customers": {"warehouse/raw_customers"},
    "staging/stg_products": {"warehouse/raw_products"},
    "staging/stg_orders": {"warehouse/raw_orders"},
    "staging/stg_order_lines": {"warehouse/raw_orders"},
    "staging/stg_events": {"warehouse/raw_events"},
    "marts/dim_customers": {"staging/stg_customers", "warehouse/features_customer_rfm"},
    "marts/dim_products": {"staging/stg_products"},
    "marts/fct_orders": {"staging/stg_orders"},
    "marts/fct_order_lines": {"staging/stg_order_lines"},
    "marts/daily_sales": {"staging/stg_order_lines", "staging/stg_products"},
    "marts/customer_value": {"marts/fct_orders"},
    "marts/product_funnel_daily": {"staging/stg_events"},
    "marts/product_popularity": {"marts/dim_products", "marts/fct_order_lines", "marts/product_funnel_daily"},
    "models/recommender": {"features/interactions", "raw/orders", "raw/events", "raw/customers", "raw/products"},
    "models/sales_forecaster": {"marts/daily_sales"},
    "models/recommendations": {"models/recommender", "raw/customers"},
    "models/sales_forecasts": {"models/sales_forecaster", "marts/daily_sales"},
    "monitoring/feature_drift": {"features/daily_sales", "models/sales_forecaster", "models/recommender"},
    "monitoring/recommender_quality": {"models/recommendations", "raw/orders", "raw/events"},
    "monitoring/forecast_accuracy": {"models/sales_forecasts", "marts/daily_sales"},
    "monitoring/experiment_results": {"models/recommender"},
}
LAKE_ASSETS = [k for k in EXPECTED_PARENTS if k.startswith(("raw/", "features/"))]
DAILY = {"raw/orders", "raw/events", "warehouse/raw_orders", "warehouse/raw_events"}


def _graph():
    return build_definitions(load_settings()).resolve_asset_graph()


def test_asset_keys_and_dependencies_are_pinned():
    graph = _graph()
    got = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert got == EXPECTED_PARENTS


def test_groups_are_layers_and_daily_tables_are_partitioned():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0]
        name = key.to_user_string()
        partitioned = name in DAILY or name.startswith(("staging/", "marts/"))
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition) == partitioned


def test_every_raw_and_feature_asset_has_blocking_pandera_checks():
    graph = _graph()
    checks: dict[str, dict[str, bool]] = {}
    for check_key in graph.asset_check_keys:
        spec = graph.get_check_spec(check_key)
        checks.setdefault(check_key.asset_key.to_user_string(), {})[check_key.name] = spec.blocking
    for asset in LAKE_ASSETS:
        assert checks[asset]["schema_and_ranges"] is True, asset
        assert checks[asset]["volume"] is True, asset
    for table in ("raw/orders", "raw/events"):
        assert checks[table]["known_references"] is True
        assert checks[table]["unique_keys"] is True



def test_every_data_asset_has_a_freshness_policy():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("models", "monitoring"):  # driven by the sensors and automation, not a clock
            continue
        policy = graph.get(key).freshness_policy
        assert policy is not None and policy.fail_window.to_timedelta().total_seconds() == 50 * 3600, key


def test_dbt_tests_surface_as_asset_checks_on_the_marts():
    graph = _graph()
    names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("marts/fct_order_lines", "relationships_fct_order_lines_product_id__product_id__ref_dim_products_") in names
    assert ("marts/dim_customers", "unique_dim_customers_customer_id") in names
    assert any(a == "marts/daily_sales" and n.startswith("unique_combination") for a, n in names)


def test_model_assets_carry_their_quality_checks():
    graph = _graph()
    names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for model in ("models/recommender", "models/sales_forecaster"):
        assert {(model, "beats_baselines"), (model, "metrics_in_range")} <= names
    assert ("models/recommender", "segments_served") in names


def test_new_data_flows_by_the_landing_sensor_and_retraining_by_sensors():
    defs = build_definitions(load_settings())
    graph = defs.resolve_asset_graph()
    automated = {key.to_user_string() for key in graph.get_all_asset_keys()
                 if graph.get(key).automation_condition is not None}
    # batch outputs and monitors follow their model; the data layers are carried by process_landed_days
    assert automated == {"models/recommendations", "models/sales_forecasts", "monitoring/feature_drift",
                         "monitoring/recommender_quality", "monitoring/forecast_accuracy"}
    assert {s.name for s in defs.sensors} == {"retrain_on_degradation", "land_new_days", "conclude_experiments",
                                              "hashiramart_automation"}
    landed = defs.resolve_job_def("process_landed_days")
    selected = {key.to_user_string() for key in landed.asset_layer.selected_asset_keys}
    trained = {"models/recommender", "models/sales_forecaster"}
    assert selected == set(EXPECTED_PARENTS) - trained  # everything but training, in one ranged run
    for job in ("retrain_recommender", "retrain_forecaster", "process_landed_days", "daily_raw_ingest"):
        assert defs.resolve_job_def(job).executor_def.name == "in_process"  # one process, one Spark session
