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
}


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
        partitioned = key.to_user_string() in {"raw/orders", "raw/events"}
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition) == partitioned


def test_every_raw_and_feature_asset_has_blocking_pandera_checks():
    graph = _graph()
    checks: dict[str, dict[str, bool]] = {}
    for check_key in graph.asset_check_keys:
        spec = graph.get_check_spec(check_key)
        checks.setdefault(check_key.asset_key.to_user_string(), {})[check_key.name] = spec.blocking
    for asset in EXPECTED_PARENTS:
        assert checks[asset]["schema_and_ranges"] is True, asset
        assert checks[asset]["volume"] is True, asset
    for table in ("raw/orders", "raw/events"):
        assert checks[table]["known_references"] is True
        assert checks[table]["unique_keys"] is True



def test_every_raw_and_feature_asset_has_a_freshness_policy():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        assert policy is not None and policy.fail_window.to_timedelta().total_seconds() == 50 * 3600, key
