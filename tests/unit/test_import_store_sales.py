"""The store-sales importer on hand-made fixtures; the expected numbers are counted by hand in
tests/fixtures/store_sales/EXPECTED.md, independently of the code."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing, trading_calendar
from hashiramart_assets.importers.store_sales import (
    REASONS,
    STORE_REASONS,
    import_store_sales,
    parse_column_map,
    pseudo_customer_ids,
)
from hashiramart_assets.ml.train_recommender import RecommenderInputs, untrainable_reason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "store_sales"
TRAIN = FIXTURES / "rossmann_train.csv"
STORES = FIXTURES / "rossmann_store.csv"
SHOP = FIXTURES / "shop_sales_semicolon.csv"
SHOP_COLUMNS = ["store=shop_id", "date=day", "sales=revenue", "customers=visitors", "promo=on_promo"]


def _landed(landing_dir: Path, table: str) -> pd.DataFrame:
    days = landing.landed_days(landing_dir, table)
    return pd.concat([pd.read_parquet(landing.day_path(landing_dir, table, d)) for d in days], ignore_index=True)


def _table(landing_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(Path(landing_dir) / f"{name}.parquet")


def _quarantine(landing_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(landing_dir / "_quarantine" / "store_sales.parquet")


def _by_reason(**counts: int) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in REASONS}


@pytest.fixture(scope="module")
def rossmann(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("rossmann")
    return out, import_store_sales(TRAIN, out, stores_path=STORES)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("shop")
    return out, import_store_sales(SHOP, out, column_map=SHOP_COLUMNS, date_format="%d.%m.%Y", decimal=",")


def test_rossmann_counts_match_the_hand_count(rossmann):
    out, report = rossmann
    assert (report.input_rows, report.accepted_rows, report.closed_rows, report.quarantined_rows) == (38, 16, 10, 12)
    assert report.accepted_rows + report.closed_rows + report.quarantined_rows == report.input_rows
    assert report.quarantine_by_reason == _by_reason(
        unparseable_row=4, missing_store=1, unknown_store=1, negative_sales=1, sales_on_closed_day=1,
        no_sales_on_open_day=1, duplicate_store_day=3,
    )
    assert (report.stores_input_rows, report.stores_accepted_rows, report.stores_quarantined_rows) == (6, 4, 2)
    assert report.stores_quarantine_by_reason == dict.fromkeys(STORE_REASONS, 1)
    assert (report.products, report.customers, report.days, report.orders, report.units) == (3, 3, 6, 16, 90939)
    assert (report.start_date, report.end_date, report.date_format) == ("2015-06-01", "2015-06-09", "iso")
    assert report.extra_columns == [] and report.columns["customers"] == "Customers"
    assert any("DayOfWeek differs" in n and "on 1 row(s)" in n for n in report.notes)
    assert any("1 store(s) of the stores file have no accepted row" in n for n in report.notes)
    saved = json.loads((out / "_reports" / "store_sales_import.json").read_text())
    assert saved == report.to_dict()


def test_every_row_is_accepted_closed_or_quarantined_exactly_once(rossmann):
    out, _ = rossmann
    quarantine = _quarantine(out)
    sales_rows = quarantine.loc[quarantine["source_file"] == str(TRAIN)].set_index("source_row")["reason"]
    assert sales_rows.to_dict() == {
        25: "unparseable_row", 26: "unparseable_row", 27: "unparseable_row", 28: "unparseable_row",
        29: "missing_store", 30: "unknown_store", 31: "negative_sales", 32: "sales_on_closed_day",
        33: "no_sales_on_open_day", 34: "duplicate_store_day", 35: "duplicate_store_day", 36: "duplicate_store_day",
    }
    days = _table(out, "store_days")
    assert sorted(days.loc[days["open"], "source_row"]) == [1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 16, 17, 18, 22, 23, 24]
    assert sorted(days.loc[~days["open"], "source_row"]) == [9, 10, 11, 12, 15, 19, 20, 21, 37, 38]
    assert sorted(list(sales_rows.index) + list(days["source_row"])) == list(range(1, 39))
    stores_rows = quarantine.loc[quarantine["source_file"] == str(STORES)].set_index("source_row")["reason"]
    assert stores_rows.to_dict() == {5: "duplicate_store", 6: "missing_store"}


def test_quarantine_names_file_row_field_and_value(rossmann):
    out, report = rossmann
    quarantine = _quarantine(out).set_index(["source_file", "source_row"])
    assert list(quarantine.reset_index().columns[:4]) == list(landing.QUARANTINE_COLUMNS)
    fields = {row: quarantine.loc[(str(TRAIN), row), "field"] for row in (25, 26, 27, 28, 29, 31, 32, 33, 35)}
    assert fields == {25: "Date", 26: "Sales", 27: "Customers", 28: "Open", 29: "Store", 31: "Sales", 32: "Open",
                      33: "Sales", 35: "Store+Date"}
    assert quarantine.loc[(str(TRAIN), 26), "detail"] == "Sales='abc' does not parse"
    assert quarantine.loc[(str(TRAIN), 30), "detail"] == "Store='9' is not in the stores file"
    assert quarantine.loc[(str(TRAIN), 35), "detail"] == (
        "Store+Date='001/2015-06-02' repeats an earlier row's store and day")
    assert json.loads(quarantine.loc[(str(TRAIN), 28), "raw"]) == {
        "Store": "2", "DayOfWeek": "3", "Date": "2015-06-03", "Sales": "5100", "Customers": "510", "Open": "maybe",
        "Promo": "0", "StateHoliday": "0", "SchoolHoliday": "0"}
    assert json.loads(quarantine.loc[(str(STORES), 6), "raw"])["CompetitionDistance"] == "310"
    assert f"{TRAIN} row 26, field Sales: unparseable_row (Sales='abc' does not parse)" in report.examples


def test_landed_tables_follow_the_contract(rossmann, shop):
    for out, _ in (rossmann, shop):
        orders, events = _landed(out, "orders"), _landed(out, "events")
        for table, frame in (("orders", orders), ("events", events), ("customers", _table(out, "customers")),
                             ("products", _table(out, "products"))):
            assert list(frame.columns) == list(landing.TABLE_COLUMNS[table])
            assert (landing.conform(frame, table).dtypes == frame.dtypes).all(), table
        assert len(orders) == len(events) and (events["event_type"] == "purchase").all()
        assert (events["order_id"] == orders["order_id"]).all()
        assert (orders["line_no"] == 1).all() and orders["order_id"].is_unique
        assert (orders["quantity"] > 0).all() and not orders["is_return"].any()
        assert (orders["unit_price"] == 1.0).all() and (orders["list_price"] == 1.0).all()
        assert (orders["channel"] == "store").all()
        assert (orders["order_ts"] == orders["order_ts"].dt.normalize()).all()
        assert set(orders["product_id"]) == set(_table(out, "products")["product_id"])
        assert set(orders["customer_id"]) == set(_table(out, "customers")["customer_id"])
        for day in landing.landed_days(out, "orders"):
            part = pd.read_parquet(landing.day_path(out, "orders", day))
            assert (part["order_ts"].dt.strftime("%Y-%m-%d") == day).all()


def test_one_line_per_open_store_day_with_sales_as_units(rossmann):
    out, _ = rossmann
    orders = _landed(out, "orders")
    per_day = orders.groupby(orders["order_ts"].dt.strftime("%Y-%m-%d")).size().to_dict()
    assert per_day == {"2015-06-01": 3, "2015-06-02": 3, "2015-06-03": 2, "2015-06-05": 2, "2015-06-06": 3,
                       "2015-06-08": 3}
    assert orders.groupby("product_id")["quantity"].sum().to_dict() == {
        "store-1": 36463, "store-2": 27385, "store-3": 27091}
    lines = orders.set_index("order_id")
    assert lines.loc["S2-20150608", "quantity"] == 4322  # 4321.6
    assert lines.loc["S1-20150601", "customer_id"] == 1 and lines.loc["S1-20150601", "product_id"] == "store-1"
    assert lines.loc["S1-20150602", "quantity"] == 6064  # row 4, not its duplicate row 35 (9999)
    assert int(orders["promo"].sum()) == 10
    assert not orders["promo"][orders["order_ts"] >= "2015-06-06"].any()
    assert (orders["country"] == "unknown").all()


def test_closed_days_get_empty_partitions_and_the_calendar(rossmann):
    out, report = rossmann
    assert landing.landed_days(out, "orders") == landing.landed_days(out, "events") == [
        f"2015-06-0{d}" for d in range(1, 10)]
    for day in ("2015-06-04", "2015-06-07", "2015-06-09"):
        for table in landing.DAILY_TABLES:
            assert pd.read_parquet(landing.day_path(out, table, day)).empty
    span = report.calendar
    assert (span["calendar_days"], span["trading_days"], span["closed_days"]) == (9, 6, 3)
    assert span["closed_weekdays"] == [] and span["short_dates"] == []
    assert span["closed_periods"] == ["2015-06-04", "2015-06-07", "2015-06-09"]
    manifest = landing.read_manifest(out)
    assert manifest["source"] == "store-sales" and manifest["stores_file"] == str(STORES)
    assert (manifest["start_date"], manifest["end_date"]) == ("2015-06-01", "2015-06-09")
    assert (manifest["accepted_rows"], manifest["closed_rows"], manifest["quarantined_rows"]) == (16, 10, 12)
    calendar = trading_calendar.load_calendar(out)
    assert calendar.inferred and calendar.closed_dates == {"2015-06-04", "2015-06-07", "2015-06-09"}
    assert not calendar.is_closed("2015-06-03")  # store 3 alone closed: the shop traded


def test_dimensions_come_from_the_stores_file(rossmann):
    out, _ = rossmann
    products = _table(out, "products").set_index("product_id")
    assert products[["name", "department", "category", "category_path"]].to_dict("index") == {
        "store-1": {"name": "Store 1", "department": "c", "category": "a", "category_path": "c > a"},
        "store-2": {"name": "Store 2", "department": "a", "category": "a", "category_path": "a > a"},
        "store-3": {"name": "Store 3", "department": "a", "category": "c", "category_path": "a > c"},
    }
    assert (products["base_price"] == 1.0).all() and (products["launch_date"] == pd.Timestamp("2015-06-01")).all()
    customers = _table(out, "customers").set_index("customer_id")
    assert sorted(customers.index) == [1, 2, 3]
    assert (customers["segment"] == "unknown").all() and (customers["region"] == "Unknown").all()
    stores = _table(out, "stores").set_index("store_id")
    assert sorted(stores.index) == ["1", "2", "3", "4"]
    assert stores.loc["2", "PromoInterval"] == "Jan,Apr,Jul,Oct" and stores.loc["4", "CompetitionDistance"] == "620"
    assert stores.loc["2", "store_type"] == "a"  # the first row for store 2, not the duplicate


def test_store_days_keep_what_the_file_said(rossmann):
    out, _ = rossmann
    days = _table(out, "store_days").set_index("source_row")
    assert len(days) == 26
    assert (days.loc[10, "state_holiday"], bool(days.loc[10, "state_holiday_flag"])) == ("a", True)
    assert bool(days.loc[13, "school_holiday"]) and not bool(days.loc[16, "school_holiday"])
    assert (days.loc[1, "customers"], days.loc[1, "sales"], days.loc[1, "units"]) == (555, 5263.0, 5263)
    assert (days.loc[23, "sales"], days.loc[23, "units"]) == (4321.6, 4322)
    assert pd.isna(days.loc[37, "sales"]) and days.loc[37, "units"] == 0 and not days.loc[37, "open"]
    assert pd.isna(days.loc[38, "open_given"]) and not days.loc[38, "open"] and days.loc[38, "day_of_week"] == "5"
    assert bool(days.loc[9, "open_given"]) is False and days.loc[9, "store_id"] == "3"


def test_another_layout_with_a_column_map(shop):
    out, report = shop
    assert (report.input_rows, report.accepted_rows, report.closed_rows, report.quarantined_rows) == (8, 6, 1, 1)
    assert report.quarantine_by_reason == _by_reason(unparseable_row=1)
    assert (report.days, report.orders, report.units, report.products) == (3, 6, 5825, 3)
    assert report.extra_columns == ["weather"] and report.columns["sales"] == "revenue"
    assert report.calendar["closed_days"] == 0 and report.calendar["trading_days"] == 3
    assert report.delimiter == ";"
    quarantine = _quarantine(out)
    assert (quarantine.loc[0, "source_row"], quarantine.loc[0, "field"]) == (6, "revenue")
    orders = _landed(out, "orders").set_index("order_id")
    assert orders.loc["SB-01-20240701", "quantity"] == 1234 and orders.loc["SB-02-20240702", "quantity"] == 1011
    assert orders.loc["SB-02-20240703", "quantity"] == 1000  # row 7: row 6 was rejected, so no duplicate
    assert bool(orders.loc["SB-01-20240703", "promo"]) and bool(orders.loc["SB-03-20240703", "promo"])
    assert orders.loc["SB-03-20240703", "country"] == "unknown"
    assert (orders["customer_id"] >= 10**12).all() and orders["customer_id"].nunique() == 3
    products = _table(out, "products")
    assert (products["department"] == "store").all() and (products["category"] == "store").all()
    customers = _table(out, "customers").set_index("customer_id")
    assert set(customers["region"]) == {"Europe", "Unknown"}
    days = _table(out, "store_days")
    assert list(days.loc[days["source_row"] == 1, "weather"]) == ["sunny"]
    assert not days.loc[days["source_row"] == 3, "open"].item() and days["open"].sum() == 6


def test_pseudo_customers_are_stable_per_store():
    ids = pseudo_customer_ids(pd.Series(["1", "17", "B-01", "B-02", "1", "0"]))
    again = pseudo_customer_ids(pd.Series(["B-02", "17"]))
    assert list(ids[:2]) == [1, 17] and ids[4] == 1
    assert ids[2] != ids[3] and min(ids[2], ids[3], ids[5]) >= 10**12
    assert list(again) == [ids[3], 17]


def test_column_map_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="'shop' is not a column the importer knows"):
        parse_column_map(["shop=shop_id"])
    with pytest.raises(ValueError, match="expected CANONICAL=FileColumn"):
        parse_column_map(["store"])
    assert parse_column_map(["stores.store_type=Format", "store=shop_id"]) == {
        "stores.store_type": "Format", "store": "shop_id"}
    with pytest.raises(ValueError) as error:
        import_store_sales(SHOP, tmp_path / "a", column_map=["store=shop"])
    assert str(SHOP) in str(error.value) and "--column store=shop: no such column" in str(error.value)
    with pytest.raises(ValueError) as error:
        import_store_sales(SHOP, tmp_path / "b")
    message = str(error.value)  # shop_id and day match the spellings ShopID and Day; nothing matches Sales
    assert str(SHOP) in message and "missing required column(s) 'Sales' or" in message and "'revenue'" in message
    assert "'Store'" not in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_reimport_requires_replace_and_is_idempotent(tmp_path):
    first = import_store_sales(TRAIN, tmp_path, stores_path=STORES)
    snapshot = {t: _landed(tmp_path, t) for t in landing.DAILY_TABLES}
    snapshot |= {t: _table(tmp_path, t) for t in ("customers", "products", "store_days", "stores")}
    with pytest.raises(ValueError, match="--replace"):
        import_store_sales(TRAIN, tmp_path, stores_path=STORES)
    again = import_store_sales(TRAIN, tmp_path, stores_path=STORES, replace=True)
    assert again.to_dict() == first.to_dict()
    for name, frame in snapshot.items():
        after = _landed(tmp_path, name) if name in landing.DAILY_TABLES else _table(tmp_path, name)
        pd.testing.assert_frame_equal(after, frame, obj=name)
    assert not any(p.name.startswith(".staging") for p in tmp_path.iterdir())
    import_store_sales(SHOP, tmp_path, column_map=SHOP_COLUMNS, date_format="%d.%m.%Y", decimal=",", replace=True)
    assert landing.landed_days(tmp_path, "orders") == ["2024-07-01", "2024-07-02", "2024-07-03"]
    assert not (tmp_path / "stores.parquet").exists()  # the earlier import's sidecar went with it
    assert landing.read_manifest(tmp_path)["start_date"] == "2024-07-01"


def test_a_store_sales_landing_has_nothing_for_the_recommender(rossmann):
    out, _ = rossmann
    orders = _landed(out, "orders")
    empty = pd.DataFrame()

    def inputs(frame: pd.DataFrame) -> RecommenderInputs:
        return RecommenderInputs(interactions=empty, orders=frame, events=empty, customers=empty, products=empty)

    reason = untrainable_reason(inputs(orders))
    assert reason and "every customer bought exactly one product (3 customers, 3 products" in reason
    mixed = pd.concat([orders, orders.head(1).assign(product_id="store-2")], ignore_index=True)
    assert untrainable_reason(inputs(mixed)) is None  # one customer with two products: trainable
