"""Raw and monitoring assets called directly (``dg.build_asset_context``) on a few hand-made rows.

The fast layer beside the real-stack tests: no Spark, Postgres, MLflow or Dagster run, only the asset
functions with small resources (the lake resource on tmp_path, a stub model registry for the drift monitor).
Asserted are the numbers a person reads in the UI: accepted and quarantined rows, which check fails with
which severity, and what its metadata counts (worked out by hand for these rows).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from hashiramart_assets import landing
from hashiramart_assets.assets import monitoring
from hashiramart_assets.assets.raw import RawPolicy, build_raw_assets
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.lake import paths, store
from hashiramart_assets.ml.registration import DATA_END_TAG
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.resources.mlflow import RegistryResource
from hashiramart_assets.settings import DEFAULT_MAX_REJECTED_DAY_SHARE
from hashiramart_assets.trading_calendar import TradingCalendar

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2025-03-01", end_date="2025-04-01")
MON, TUE, WED = "2025-03-03", "2025-03-04", "2025-03-05"
SAT, SUN, NEXT_MON = "2025-03-08", "2025-03-09", "2025-03-10"
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
BAD_SEGMENT = "rules: segment.isin(('consumer', 'business', 'wholesale', 'unknown'))"
BAD_CHANNEL = "rules: channel.isin(('web', 'app', 'store', 'unknown'))"


def raw_assets(policy: RawPolicy | None = None) -> dict[str, dg.AssetsDefinition]:
    return {asset.key.path[-1]: asset for asset in build_raw_assets(PARTITIONS, policy)}


def call(asset: dg.AssetsDefinition, resources: dict[str, object], *args: object,
         **context: object) -> dg.MaterializeResult:
    """Invoke the asset function as Dagster would, without a run: results come back instead of events."""
    with dg.build_asset_context(resources=resources, **context) as ctx:
        return asset(ctx, *args)


def plain(metadata: dict) -> dict:
    return {key: value.value if isinstance(value, dg.MetadataValue) else value for key, value in metadata.items()}


def checks(result: dg.MaterializeResult) -> dict[str, dg.AssetCheckResult]:
    return {check.check_name: check for check in result.check_results}


def customers(ids: list[int], segments: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2024-01-01"),
                         "segment": segments or ["consumer"] * len(ids), "region": "Kanto", "country": "JP"})


def products() -> pd.DataFrame:
    return pd.DataFrame({"product_id": ["P1", "P2"], "name": ["Tea", "Cup"], "department": "Home",
                         "category": ["Kitchen", "Tableware"], "category_path": ["Home > Kitchen", "Home > Tableware"],
                         "base_price": [2.5, 4.0], "launch_date": pd.Timestamp("2024-01-01")})


def orders(day: str, n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [f"O-{day}-{i}" for i in range(n)], "line_no": 1,
        "order_ts": pd.Timestamp(f"{day} 09:00") + pd.to_timedelta(range(n), unit="min"),
        "customer_id": [1 + i % 3 for i in range(n)], "product_id": ["P1", "P2"] * (n // 2) + ["P1"] * (n % 2),
        "quantity": 1, "unit_price": 2.5, "list_price": 2.5, "promo": False, "is_return": False,
        "channel": "web", "country": "JP",
    })


@pytest.fixture
def lake(tmp_path: Path) -> LakeResource:
    return LakeResource(root=str(tmp_path / "lake"), landing_dir=str(tmp_path / "landing"))


@pytest.fixture
def dimensions(lake: LakeResource) -> LakeResource:
    """3 customers and 2 products landed and ingested by their raw assets (the daily tables' references)."""
    landing.write_table(lake.landing, "customers", customers([1, 2, 3]))
    landing.write_table(lake.landing, "products", products())
    assets = raw_assets()
    for table in ("customers", "products"):
        assert all(c.passed for c in call(assets[table], {"lake": lake}).check_results), table
    return lake


# ----- raw layer: dimension asset -----

def test_raw_customers_good_rows_reach_the_lake_and_every_check_passes(lake):
    landing.write_table(lake.landing, "customers", customers([1, 2, 3]))
    result = call(raw_assets()["customers"], {"lake": lake})
    meta = plain(result.metadata)
    assert (meta["input_rows"], meta["accepted_rows"], meta["quarantined_rows"], meta["files"]) == (3, 3, 0, 1)
    assert meta["dagster/row_count"] == 3 and meta["quarantine_reasons"] == {}
    assert meta["lake_location"] == paths.raw_table(lake.root, "customers")
    assert {name: check.passed for name, check in checks(result).items()} == {
        "schema_and_ranges": True, "unique_keys": True, "volume": True}
    assert store.row_count(paths.raw_file(lake.root, "customers")) == 3
    assert not store.exists(paths.quarantine_file(lake.root, "customers"))


def test_raw_customers_bad_rows_are_quarantined_and_fail_their_checks_with_the_rows_counted(lake):
    # row 3: a segment outside the contract (rules); row 4: customer 2 again (keys; the first one is kept)
    landing.write_table(lake.landing, "customers",
                        customers([1, 2, 3, 2], ["consumer", "business", "vip", "consumer"]))
    result = call(raw_assets()["customers"], {"lake": lake})
    meta = plain(result.metadata)
    assert (meta["input_rows"], meta["accepted_rows"], meta["quarantined_rows"]) == (4, 2, 2)
    assert meta["dagster/row_count"] == 2
    assert meta["quarantine_reasons"] == {BAD_SEGMENT: 1, "keys: customer_id.field_uniqueness": 1}

    found = checks(result)
    rules, keys = plain(found["schema_and_ranges"].metadata), plain(found["unique_keys"].metadata)
    assert not found["schema_and_ranges"].passed and found["schema_and_ranges"].severity == ERROR
    assert (rules["failing_rows"], rules["files_failed"], rules["rows_checked"], rules["quarantined_rows_total"]) == \
        (1, 1, 4, 2)
    assert "1 of 4 rows failed" in rules["failures"] and "| vip" in rules["failing_rows_sample"]
    assert not found["unique_keys"].passed and keys["failing_rows"] == 1
    assert found["volume"].passed  # 4 rows landed: the volume is fine, the rows are not

    assert store.read_parquet(paths.raw_file(lake.root, "customers"))["customer_id"].tolist() == [1, 2]
    quarantine = store.read_parquet(paths.quarantine_file(lake.root, "customers"))
    assert quarantine["source_row"].tolist() == [3, 4]  # 1-based rows of the landed file
    assert quarantine["reason"].tolist() == [BAD_SEGMENT, "keys: customer_id.field_uniqueness"]
    assert rules["quarantine"] == f"- `{paths.quarantine_file(lake.root, 'customers')}`"


@pytest.mark.parametrize(("landed", "passed"), [(150, False), (250, True)])
def test_raw_customers_volume_is_judged_against_the_previous_materialisation(lake, landed, passed):
    """MIN_VOLUME_RATIO 0.5 of the last materialisation's 400 rows: 150 is a truncated export, 250 is not."""
    landing.write_table(lake.landing, "customers", customers(list(range(1, landed + 1))))
    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["raw", "customers"], metadata={"dagster/row_count": 400}))
        result = call(raw_assets()["customers"], {"lake": lake}, instance=instance)
    volume = checks(result)["volume"]
    assert volume.passed is passed and volume.severity == ERROR
    assert plain(volume.metadata)["rows_by_file"] == {"customers": landed}
    if not passed:
        assert volume.description == "customers: 150 rows < 50% of the median 400 of the previous 1 days"
        assert plain(volume.metadata)["failed_files"] == 1
    assert checks(result)["schema_and_ranges"].passed and checks(result)["unique_keys"].passed


# ----- raw layer: daily asset over a partition range -----

@pytest.mark.parametrize(("share", "severity"), [(0.5, WARN), (DEFAULT_MAX_REJECTED_DAY_SHARE, ERROR)],
                         ids=["within-tolerated-share-warns", "default-share-blocks"])
def test_raw_orders_one_bad_row_on_one_day_of_three(dimensions, share, severity):
    """1 failed day of 3 trading days: WARN (the rest flows on) if the policy tolerates a third, else ERROR."""
    lake = dimensions
    for day in (MON, TUE, WED):
        frame = orders(day)
        if day == TUE:
            frame.loc[1, "channel"] = "fax"
        landing.write_day(lake.landing, "orders", day, frame)
    result = call(raw_assets(RawPolicy(max_rejected_day_share=share))["orders"], {"lake": lake},
                  partition_key_range=dg.PartitionKeyRange(MON, WED))
    meta = plain(result.metadata)
    assert (meta["input_rows"], meta["accepted_rows"], meta["quarantined_rows"], meta["files"]) == (12, 11, 1, 3)
    assert (meta["trading_days"], meta["closed_days"], meta["rejected_days"]) == (3, 0, 0)
    assert meta["quarantine_reasons"] == {BAD_CHANNEL: 1}

    found = checks(result)
    assert {name: (c.passed, c.severity) for name, c in found.items()} == {
        "schema_and_ranges": (False, severity), "unique_keys": (True, severity),
        "known_references": (True, severity), "volume": (True, severity)}
    rules = plain(found["schema_and_ranges"].metadata)
    assert (rules["failing_rows"], rules["files_failed"], rules["files_checked"], rules["rows_checked"]) == \
        (1, 1, 3, 12)
    assert rules["failures"].startswith(f"- orders[{TUE}]: ")
    assert {day: store.row_count(paths.raw_day_file(lake.root, "orders", day)) for day in (MON, TUE, WED)} == \
        {MON: 4, TUE: 3, WED: 4}
    quarantine = store.read_parquet(paths.quarantine_day_file(lake.root, "orders", TUE))
    assert quarantine["order_id"].tolist() == [f"O-{TUE}-1"] and quarantine["source_row"].tolist() == [2]


def test_raw_orders_closed_day_passes_and_a_missing_trading_day_is_rejected(dimensions):
    """Sunday is declared closed: no file is right. Monday has no file either: rejected as missing, by day."""
    lake = dimensions
    landing.write_day(lake.landing, "orders", SAT, orders(SAT))
    policy = RawPolicy(declared=TradingCalendar(closed_weekdays=frozenset({6})))
    result = call(raw_assets(policy)["orders"], {"lake": lake},
                  partition_key_range=dg.PartitionKeyRange(SAT, NEXT_MON))
    meta = plain(result.metadata)
    missing = "missing: no landed file for a trading day"
    assert (meta["trading_days"], meta["closed_days"], meta["rejected_days"]) == (1, 1, 1)
    assert meta["rejected"] == {NEXT_MON: missing}
    assert (meta["input_rows"], meta["accepted_rows"], meta["quarantined_rows"], meta["files"]) == (4, 4, 0, 3)

    found = checks(result)
    # 1 failed day of 2 trading days is above the default share (0.1): every check blocks
    assert {name: (c.passed, c.severity) for name, c in found.items()} == {
        "schema_and_ranges": (False, ERROR), "unique_keys": (False, ERROR),
        "known_references": (False, ERROR), "volume": (False, ERROR)}
    assert found["volume"].description == f"orders[{NEXT_MON}]: {missing}"
    assert plain(found["volume"].metadata)["failed_files"] == 1
    rules = plain(found["schema_and_ranges"].metadata)
    assert (rules["files_failed"], rules["failing_rows"]) == (1, 0)  # a missing file has no rows to count
    assert f"orders[{NEXT_MON}]: no landed file at" in rules["failures"]
    assert raw_tables.rejected_days(lake.root) == {NEXT_MON: missing}  # what the models read to skip the day
    assert store.row_count(paths.raw_day_file(lake.root, "orders", SUN)) == 0


# ----- monitoring: feature drift, with a stub registry -----

class StubClient:
    """The two registry calls the drift monitor makes: the champion's version, then its run's tags."""

    def __init__(self, data_end: str | None):
        self.data_end = data_end

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace:
        if self.data_end is None:
            raise MlflowException(f"registered model {name!r} has no alias {alias!r}")
        return SimpleNamespace(version="3", run_id=f"run-of-{name}")

    def get_run(self, run_id: str) -> SimpleNamespace:
        return SimpleNamespace(data=SimpleNamespace(tags={DATA_END_TAG: self.data_end}, metrics={}))


class StubRegistry(RegistryResource):
    data_end: str | None = None

    def client(self) -> StubClient:  # type: ignore[override]
        return StubClient(self.data_end)

    def run_link(self, run_id: str, artifact: str | None = None) -> dg.MetadataValue:
        """No MLflow to ask for the run's experiment: a link that names what it points at."""
        return dg.MetadataValue.url(f"http://mlflow.invalid/{run_id}/{artifact or ''}")


def daily_sales(lake: LakeResource, new_category_from: str | None) -> None:
    """features/daily_sales for 2025-03-01..04-04: 4 rows a day (A, B, A, B in 'Home'), every number the same;
    from ``new_category_from`` a fifth row a day in category Z of a new department."""
    rows = []
    for day in pd.date_range("2025-03-01", "2025-04-04"):
        names = ["A", "B", "A", "B"]
        if new_category_from and day >= pd.Timestamp(new_category_from):
            names.append("Z")
        rows += [{"date": day.date(), "category": name, "department": "New" if name == "Z" else "Home",
                  "units": 5, "revenue": 50.0, "avg_price": 10.0, "list_price": 10.0, "promo_share": 0.0}
                 for name in names]
    folder = Path(lake.feature_dir("daily_sales"))
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(folder / "part-00000.parquet", index=False)


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, float]]:
    """The metrics the asset would log to MLflow with its HTML report (MLflow itself is not started)."""
    calls: list[dict[str, float]] = []

    def log_report(registry_resource, run_id, html, metrics):
        assert "HashiraMart feature drift" in html
        calls.append(metrics)
        return "mlflow-run-1"

    monkeypatch.setattr(monitoring, "_log_report", log_report)
    return calls


def drift(lake: LakeResource, data_end: str | None) -> dg.MaterializeResult:
    registry = StubRegistry(tracking_uri="unused://", experiment="unused", data_end=data_end)
    return call(monitoring.feature_drift, {"lake": lake, "model_registry": registry}, monitoring.FeatureDriftConfig())


def test_feature_drift_on_a_steady_window_passes_every_check(lake, logged):
    daily_sales(lake, new_category_from=None)
    result = drift(lake, data_end="2025-03-28")
    meta = plain(result.metadata)
    # reference: the 28 days up to the champions' data end; recent: the newest 7 days
    assert meta["reference_window"] == "2025-03-01 .. 2025-03-28"
    assert meta["recent_window"] == "2025-03-29 .. 2025-04-04" and meta["new_days_since_training"] == 7
    assert (meta["share_drifted"], meta["max_psi"], meta["drifted_features"], meta["unseen_categories"]) == \
        (0.0, 0.0, [], {})
    assert {name: c.passed for name, c in checks(result).items()} == {
        "drift_share": True, "max_psi": True, "unseen_categories": True, "volume": True}
    assert logged == [{"share_drifted": 0.0, "max_psi": 0.0}] and meta["mlflow_run_id"] == "mlflow-run-1"
    assert meta["report"] == paths.join(lake.root, "monitoring", "feature_drift", "report_2025-04-04.html")
    assert store.exists(meta["report"])


def test_feature_drift_fails_only_the_unseen_categories_check_for_a_new_category(lake, logged):
    """Z is 1 row in 5 of the recent window: category and department drift (JS distance 0.33 > 0.1 by hand),
    2 of 7 features = 29 % <= the 30 % limit, the numbers did not move (PSI 0), volume 5/4 = 1.25."""
    daily_sales(lake, new_category_from="2025-03-29")
    result = drift(lake, data_end="2025-03-28")
    meta = plain(result.metadata)
    assert meta["drifted_features"] == ["category", "department"]
    assert meta["share_drifted"] == pytest.approx(2 / 7) and meta["max_psi"] == 0.0
    assert meta["unseen_categories"] == {"category": ["Z"], "department": ["New"]}
    found = checks(result)
    assert {name: c.passed for name, c in found.items()} == {
        "drift_share": True, "max_psi": True, "unseen_categories": False, "volume": True}
    assert found["unseen_categories"].severity == ERROR and found["volume"].severity == WARN
    assert plain(found["unseen_categories"].metadata)["unseen"] == {"category": ["Z"], "department": ["New"]}
    assert found["volume"].description == "recent/reference daily volume ratio 1.25"
    assert logged == [{"share_drifted": pytest.approx(2 / 7), "max_psi": 0.0}]


def test_feature_drift_without_a_champion_fails_the_asset_not_a_check(lake, logged):
    """No reference to compare with: the asset fails with the fix, no check fails (no retrain is triggered)."""
    daily_sales(lake, new_category_from=None)
    with pytest.raises(dg.Failure, match="train the models first"):
        drift(lake, data_end=None)
    assert logged == []
