"""The Online Retail importer on hand-built fixtures; expected counts are in fixtures/online_retail/EXPECTED.md."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.importers.online_retail import import_online_retail

FIXTURES = Path(__file__).parents[1] / "fixtures" / "online_retail"


def _landed(landing_dir: Path, table: str) -> pd.DataFrame:
    days = landing.landed_days(landing_dir, table)
    return pd.concat([pd.read_parquet(landing.day_path(landing_dir, table, d)) for d in days], ignore_index=True)


def test_layout_i_counts_match_the_hand_count(tmp_path):
    report = import_online_retail(FIXTURES / "online_retail_I.csv", tmp_path)
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (34, 15, 19)
    assert report.quarantine_by_reason == {
        "unparseable_row": 2, "cancellation": 2, "adjustment": 1, "missing_customer": 4,
        "non_product_code": 7, "non_positive_quantity": 1, "non_positive_price": 1, "duplicate_row": 1,
    }
    assert (report.days, report.orders, report.customers, report.products) == (3, 9, 5, 14)
    assert (report.start_date, report.end_date) == ("2010-12-01", "2010-12-05")
    assert report.encoding == "cp1252"


def test_layout_ii_counts_match_the_hand_count(tmp_path):
    report = import_online_retail(FIXTURES / "online_retail_II.csv", tmp_path)
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (15, 7, 8)
    assert report.quarantine_by_reason == {
        "unparseable_row": 1, "cancellation": 1, "adjustment": 1, "missing_customer": 1,
        "non_product_code": 1, "non_positive_quantity": 1, "non_positive_price": 1, "duplicate_row": 1,
    }
    assert (report.days, report.orders, report.customers, report.products) == (3, 4, 3, 6)


def test_landed_tables_follow_the_contract_and_reconcile(tmp_path):
    import_online_retail(FIXTURES / "online_retail_I.csv", tmp_path)
    orders = _landed(tmp_path, "orders")
    events = _landed(tmp_path, "events")
    landing.conform(orders, "orders")
    landing.conform(events, "events")
    landing.conform(pd.read_parquet(landing.table_path(tmp_path, "customers")), "customers")
    products = landing.conform(pd.read_parquet(landing.table_path(tmp_path, "products")), "products")
    assert len(orders) == len(events) == 15
    assert (events["event_type"] == "purchase").all() and events["order_id"].notna().all()
    assert not orders.duplicated(["order_id", "line_no"]).any()
    lines = orders[orders["order_id"] == "536367"].sort_values("line_no")
    assert lines["product_id"].tolist() == ["84879", "22745"] and lines["line_no"].tolist() == [1, 2]
    assert set(orders["product_id"]) == set(products["product_id"])
    assert "85123A" in set(orders["product_id"]) and "85123a" not in set(orders["product_id"])
    assert orders.loc[orders["order_id"] == "537204", "country"].item() == "Café Land"
    lantern = products.set_index("product_id").loc["71053"]
    assert (lantern["department"], lantern["category"]) == ("Home", "Lighting")
    assert products.set_index("product_id").loc["85123A", "base_price"] == pytest.approx((2.55 + 2.95) / 2)


def test_quarantine_keeps_the_original_rows(tmp_path):
    import_online_retail(FIXTURES / "online_retail_I.csv", tmp_path)
    quarantine = pd.read_parquet(tmp_path / "_quarantine" / "online_retail.parquet")
    assert len(quarantine) == 19
    by_row = quarantine.set_index("source_row")
    assert by_row.loc[16, "reason"] == "duplicate_row"
    assert by_row.loc[29, "reason"] == "non_product_code"
    original = json.loads(by_row.loc[29, "raw"])
    assert original["Description"] == "Dotcomgiftshop Gift Voucher £40.00"
    assert json.loads(by_row.loc[23, "raw"])["Quantity"] == "three"


def test_missing_columns_error_names_the_file_and_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice,StockCode,Quantity,InvoiceDate,Country\n1,2,3,2010-01-01 10:00:00,UK\n")
    with pytest.raises(ValueError) as error:
        import_online_retail(bad, tmp_path / "landing")
    message = str(error.value)
    assert str(bad) in message and "price" in message and "customer" in message and "StockCode" in message


def test_reimport_requires_replace_and_is_idempotent(tmp_path):
    first = import_online_retail(FIXTURES / "online_retail_II.csv", tmp_path)
    with pytest.raises(ValueError, match="--replace"):
        import_online_retail(FIXTURES / "online_retail_II.csv", tmp_path)
    again = import_online_retail(FIXTURES / "online_retail_II.csv", tmp_path, replace=True)
    assert again.to_dict() == first.to_dict()
    assert len(_landed(tmp_path, "orders")) == 7
    assert landing.read_manifest(tmp_path)["start_date"] == "2009-12-01"


@pytest.mark.parametrize("fixture", ["online_retail_I.csv", "online_retail_II.csv"])
def test_imported_data_passes_the_raw_layer_checks(tmp_path, fixture):
    from hashiramart_assets.ingest import raw_tables

    land, lake = tmp_path / "landing", str(tmp_path / "lake")
    import_online_retail(FIXTURES / fixture, land)
    for table in ("customers", "products"):
        assert raw_tables.ingest_dimension(land, lake, table).quarantined_rows == 0
    known = raw_tables.known_ids(lake)
    for table in ("orders", "events"):
        for day in landing.landed_days(land, table):
            outcome = raw_tables.ingest_day(land, lake, table, day, known)
            assert outcome.quarantined_rows == 0 and all(outcome.family_passed(f) for f in raw_tables.FAMILIES)
