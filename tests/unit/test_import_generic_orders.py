"""The generic orders importer on hand-made fixtures; every expected number is counted by hand in
tests/fixtures/orders_generic/EXPECTED.md, independently of the code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from hashiramart_assets import landing
from hashiramart_assets.cli import main
from hashiramart_assets.importers.generic_orders import (
    REASONS,
    customer_id_map,
    import_orders,
    make_mapping,
)
from tests.unit.test_online_retail_import import assert_passes_raw_checks

FIXTURES = Path(__file__).parents[1] / "fixtures" / "orders_generic"
SHOP = FIXTURES / "shop_export.csv"
GERMAN = FIXTURES / "semicolon_decimal_comma.csv"
GERMAN_MAPPING = FIXTURES / "semicolon_decimal_comma.yaml"
CALENDAR = FIXTURES / "closed_sundays_and_easter.csv"
SHOP_FLAGS = ["order_id=Order Number", "timestamp=Order Date", "customer_id=Customer", "product_id=SKU",
              "product_name=Product", "category=Category", "quantity=Qty", "unit_price=Unit Price",
              "country=Country", "channel=Sales Channel"]
CALENDAR_FLAGS = ["order_id=receipt", "timestamp=sold_at", "customer_id=member", "product_id=item",
                  "quantity=units", "unit_price=price"]


def _by_reason(**counts: int) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in REASONS}


def _landed(landing_dir: Path, table: str) -> pd.DataFrame:
    days = landing.landed_days(landing_dir, table)
    return pd.concat([pd.read_parquet(landing.day_path(landing_dir, table, d)) for d in days], ignore_index=True)


def _quarantine(landing_dir: Path) -> dict[int, str]:
    frame = pd.read_parquet(landing_dir / "_quarantine" / "orders.parquet")
    return dict(zip(frame["source_row"], frame["reason"], strict=True))


def _details(landing_dir: Path) -> dict[int, str]:
    frame = pd.read_parquet(landing_dir / "_quarantine" / "orders.parquet")
    return dict(zip(frame["source_row"], frame["detail"], strict=True))


def _hashed(text: str) -> int:
    """The documented formula: BLAKE2b-64 of the text into [10**12, 2**53)."""
    digest = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    return 10**12 + digest % (2**53 - 10**12)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("shop")
    return out, import_orders(SHOP, out, make_mapping(None, SHOP_FLAGS))


def test_flag_mapping_with_text_customer_ids_matches_the_hand_count(shop):
    out, report = shop
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (14, 8, 6)
    assert report.quarantine_by_reason == _by_reason(
        unparseable_row=1, missing_customer=1, **{"return": 1}, non_positive_quantity=1, non_positive_price=1,
        duplicate_row=1)
    assert _quarantine(out) == {5: "duplicate_row", 6: "missing_customer", 7: "return", 8: "non_positive_price",
                                9: "unparseable_row", 11: "non_positive_quantity"}
    assert _details(out) == {5: "copy of row 4", 6: "Customer=''", 7: "Qty='-1'", 8: "Unit Price='0'",
                             9: "Order Date='06/03/2024 10:00'", 11: "Qty='0'"}
    assert f"{SHOP} row 9, field Order Date: unparseable_row (Order Date='06/03/2024 10:00')" in report.examples
    assert (report.days, report.start_date, report.end_date) == (5, "2024-03-04", "2024-03-08")
    assert (report.orders, report.customers, report.products) == (7, 5, 5)
    assert (report.encoding, report.delimiter, report.date_format) == ("utf-8-sig", ",", "iso")
    assert report.details["customer_ids"]["mode"] == "hashed" and report.details["customer_ids"]["mapped"] == 5
    assert report.details["unrecognised_channels"] == {"Marketplace": 1}
    assert report.details["mapping"]["timestamp"] == "Order Date"
    assert json.loads((out / "_reports" / "orders_import.json").read_text()) == report.to_dict()
    manifest = landing.read_manifest(out)
    assert (manifest["source"], manifest["input_rows"], manifest["accepted_rows"]) == ("orders", 14, 8)
    raw = pd.read_parquet(out / "_quarantine" / "orders.parquet").set_index("source_row").loc[7, "raw"]
    assert json.loads(raw)["Line Note"] == "chipped" and json.loads(raw)["Qty"] == "-1"


def test_text_customer_ids_get_stable_reversible_int64_ids(shop, tmp_path):
    out, _report = shop
    ids = customer_id_map(out)
    texts = ["17", "C-00012", "alice@example.com", "bob@example.com", "carol@example.com"]
    assert dict(zip(ids["source_customer_id"], ids["customer_id"], strict=True)) == {t: _hashed(t) for t in texts}
    assert ids["customer_id"].dtype == "int64"
    orders = _landed(out, "orders")
    assert set(orders["customer_id"]) == set(ids["customer_id"])
    alice = orders.loc[orders["order_id"] == "1001", "customer_id"].unique().tolist()
    assert alice == [_hashed("alice@example.com")]
    customers = pd.read_parquet(landing.table_path(out, "customers")).set_index("customer_id")
    assert (customers.loc[_hashed("carol@example.com"), "country"],
            customers.loc[_hashed("carol@example.com"), "region"]) == ("Unspecified", "Unknown")
    assert customers.loc[_hashed("17"), "signup_date"] == pd.Timestamp("2024-03-07")
    # another export of the same shop, with other customers: alice keeps her id (a numbering would not)
    other = tmp_path / "later.csv"
    other.write_text("Order Number,Order Date,Customer,SKU,Qty,Unit Price\n"
                     "2001,2024-04-01 09:00:00,aaron@example.com,SKU-1,1,4.50\n"
                     "2002,2024-04-01 10:00:00,alice@example.com,SKU-2,1,7.00\n")
    flags = [f for f in SHOP_FLAGS if f.split("=")[0] in ("order_id", "timestamp", "customer_id", "product_id",
                                                         "quantity", "unit_price")]
    import_orders(other, tmp_path / "landing", make_mapping(None, flags))
    later = customer_id_map(tmp_path / "landing").set_index("source_customer_id")["customer_id"]
    assert later["alice@example.com"] == _hashed("alice@example.com")


def test_landed_lines_channels_and_categories(shop):
    out, _report = shop
    orders = _landed(out, "orders")
    got = sorted(zip(orders["order_id"], orders["line_no"], orders["product_id"], orders["quantity"],
                     orders["unit_price"], orders["channel"], orders["country"], strict=True))
    assert got == [
        ("1001", 1, "SKU-1", 2, 4.5, "web", "Germany"), ("1001", 2, "SKU-2", 1, 7.0, "web", "Germany"),
        ("1002", 1, "SKU-3", 1, 25.0, "store", "France"), ("1003", 1, "SKU-1", 3, 4.5, "app", "Germany"),
        ("1007", 1, "SKU-3", 2, 25.0, "unknown", "Unspecified"), ("1008", 1, "SKU-5", 4, 3.0, "web", "France"),
        ("1009", 1, "SKU-1", 1, 4.5, "web", "Germany"), ("1010", 1, "SKU-6", 1, 12.5, "web", "Germany"),
    ]
    assert not orders["is_return"].any() and len(_landed(out, "events")) == 8
    products = pd.read_parquet(landing.table_path(out, "products")).set_index("product_id")
    assert {p: (r["name"], r["category_path"], r["base_price"]) for p, r in products.iterrows()} == {
        "SKU-1": ("Linen Tea Towel", "Home > Kitchen", 4.5), "SKU-2": ("Enamel Mug", "Home > Kitchen", 7.0),
        "SKU-3": ("Wool Scarf", "Fashion > Scarves", 25.0), "SKU-5": ("Beeswax Candle", "Other > Other", 3.0),
        "SKU-6": ("SKU-6", "Home > Decor", 12.5),
    }


def test_returns_can_land_as_return_lines_that_pass_the_raw_checks(tmp_path):
    out = tmp_path / "landing"
    report = import_orders(SHOP, out, make_mapping(None, SHOP_FLAGS, returns="land"))
    assert (report.accepted_rows, report.quarantined_rows, report.orders) == (9, 5, 8)
    assert report.quarantine_by_reason["return"] == 0 and report.details["returns_landed"] == 1
    orders = _landed(out, "orders")
    back = orders[orders["is_return"]]
    assert back[["order_id", "product_id", "quantity"]].values.tolist() == [["R-1001", "SKU-2", -1]]
    events = _landed(out, "events")
    assert len(events) == 8 and "R-1001" not in set(events["order_id"])  # a return is not a purchase
    assert_passes_raw_checks(out, str(tmp_path / "lake"))


def test_yaml_mapping_semicolon_decimal_comma_file_through_the_cli(tmp_path):
    home = tmp_path / "home"
    env = {"HASHIRAMART_HOME": str(home), "HASHIRAMART_LANDING_DIR": str(home / "landing")}  # restored after
    result = CliRunner().invoke(main, ["import", "orders", str(GERMAN), "--mapping", str(GERMAN_MAPPING)], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["input_rows"], report["accepted_rows"], report["quarantined_rows"]) == (6, 3, 3)
    assert report["quarantine_by_reason"] == _by_reason(unparseable_row=2, **{"return": 1})
    assert (report["encoding"], report["delimiter"], report["date_format"]) == ("cp1252", ";", "european")
    assert (report["orders"], report["customers"], report["products"]) == (2, 2, 3)
    assert report["details"]["customer_ids"] == {"mode": "numeric", "why": "every id is a positive whole number",
                                                 "mapped": 0, "file": None}
    assert report["calendar"] == {
        "start_date": "2024-03-04", "end_date": "2024-03-13", "calendar_days": 10, "trading_days": 2,
        "closed_days": 8, "closed_weekdays": [], "closed_periods": ["2024-03-05..2024-03-12 (8 days)"],
        "short_dates": ["2024-03-04", "2024-03-13"],
        "notes": ["closed on 8 other day(s): 2024-03-05..2024-03-12 (8 days)"],
    }
    out = home / "landing"
    assert _quarantine(out) == {3: "unparseable_row", 5: "return", 6: "unparseable_row"}
    assert _details(out) == {3: "Einzelpreis='3.50'", 5: "Menge='-2'", 6: "Menge='1,5'"}
    orders = _landed(out, "orders")
    got = sorted(zip(orders["order_id"], orders["product_id"], orders["quantity"], orders["unit_price"],
                     orders["customer_id"], orders["order_ts"], strict=True))
    assert got == [("A-1", "4711", 2, 3.5, 1001, pd.Timestamp("2024-03-04 10:00")),
                   ("A-1", "4712", 1, 1234.0, 1001, pd.Timestamp("2024-03-04 10:00")),
                   ("A-3", "4713", 6, 2.95, 1002, pd.Timestamp("2024-03-13 09:15"))]
    products = pd.read_parquet(landing.table_path(out, "products")).set_index("product_id")
    assert products.loc["4712", "name"] == "Teekanne groß" and products.loc["4713", "name"] == "Café-Tasse"
    assert not (out / "_reports" / "orders_customer_ids.parquet").exists()
    assert json.loads((out / "_reports" / "orders_import.json").read_text()) == report


def test_flags_override_the_mapping_file():
    mapping = make_mapping(GERMAN_MAPPING, ["country=Bezeichnung"], decimal=".", returns="land")
    assert mapping.columns["country"] == "Bezeichnung" and mapping.columns["order_id"] == "Bestellnr"
    assert (mapping.decimal, mapping.returns, mapping.date_format, mapping.delimiter) == (".", "land", "european", None)
    assert mapping.source == f"{GERMAN_MAPPING} + --column flags"


def test_a_missing_mapped_column_names_the_file_the_key_and_the_columns_found(tmp_path):
    flags = [f for f in SHOP_FLAGS if not f.startswith("timestamp=")] + ["timestamp=Order Datum"]
    home = tmp_path / "home"
    env = {"HASHIRAMART_HOME": str(home), "HASHIRAMART_LANDING_DIR": str(home / "landing")}
    args = ["import", "orders", str(SHOP), *(a for f in flags for a in ("--column", f))]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    message = result.output
    assert str(SHOP) in message and "timestamp: 'Order Datum'" in message
    assert "found columns ['Order Number', 'Order Date', 'Customer', 'SKU'" in message
    assert not (home / "landing" / "orders").exists()


@pytest.mark.parametrize(("flags", "options", "expected"), [
    (SHOP_FLAGS[:2], {}, "no column given for required field(s) ['customer_id', 'product_id', 'quantity', "
                         "'unit_price']"),
    ([*SHOP_FLAGS, "colour=Product"], {}, "unknown field(s) ['colour']"),
    (["order_id"], {}, "--column 'order_id' is not FIELD=COLUMN"),
    (SHOP_FLAGS, {"date_format": "dd/mm"}, "date format 'dd/mm' is not 'auto'"),
    (SHOP_FLAGS, {"returns": "keep"}, "returns 'keep' is not one of ['quarantine', 'land']"),
])
def test_a_bad_mapping_is_refused_naming_what_is_wrong(flags, options, expected):
    with pytest.raises(ValueError) as error:
        make_mapping(None, flags, **options)
    assert expected in str(error.value)


def test_closed_sundays_and_a_holiday_break_land_empty_partitions_and_are_named(tmp_path):
    report = import_orders(CALENDAR, tmp_path, make_mapping(None, CALENDAR_FLAGS))
    assert (report.input_rows, report.accepted_rows, report.quarantine_by_reason["missing_customer"]) == (29, 28, 1)
    assert (report.customers, report.products, report.orders) == (4, 3, 28)
    sundays = ["2024-03-10", "2024-03-17", "2024-03-24", "2024-03-31", "2024-04-07"]
    easter = ["2024-03-29", "2024-03-30", "2024-04-01"]
    short = ["2024-03-22", "2024-03-23", "2024-03-25", "2024-03-26", "2024-03-27", "2024-03-28",
             "2024-04-02", "2024-04-03", "2024-04-04", "2024-04-05", "2024-04-06", "2024-04-08"]
    assert report.calendar == {
        "start_date": "2024-03-04", "end_date": "2024-04-08", "calendar_days": 36, "trading_days": 28,
        "closed_days": 8, "closed_weekdays": ["Sunday"], "closed_periods": ["2024-03-29..2024-04-01 (4 days)"],
        "short_dates": short,
        "notes": ["closed on Sundays (5 of 5 without trading)",
                  "closed on 3 other day(s): 2024-03-29..2024-04-01 (4 days)"],
    }
    assert len(landing.landed_days(tmp_path, "orders")) == len(landing.landed_days(tmp_path, "events")) == 36
    for day in sundays + easter:
        for table in landing.DAILY_TABLES:
            assert len(pd.read_parquet(landing.day_path(tmp_path, table, day))) == 0, (table, day)
    assert len(pd.read_parquet(landing.day_path(tmp_path, "orders", "2024-03-28"))) == 1
    calendar = landing.read_manifest(tmp_path)["calendar"]
    assert calendar["closed_weekdays"] == ["Sunday"] and calendar["closed_dates"] == sorted(sundays + easter)
    assert calendar["short_dates"] == short
    saved = json.loads((tmp_path / "_reports" / "orders_import.json").read_text())
    assert saved["calendar"] == report.calendar


def test_timestamps_with_a_utc_offset_land_as_naive_utc(tmp_path):
    source = tmp_path / "shopify_orders.csv"  # Shopify's order export writes local time with its offset
    source.write_text("Name,Created at,Email,Lineitem sku,Lineitem quantity,Lineitem price\n"
                      "#1001,2024-03-04 00:30:00 +0100,a@example.com,S1,1,5.00\n"
                      "#1002,2024-03-04T10:00:00Z,b@example.com,S1,2,5.00\n"
                      "#1003,2024-03-04 12:00:00,b@example.com,S1,1,5.00\n")
    flags = ["order_id=Name", "timestamp=Created at", "customer_id=Email", "product_id=Lineitem sku",
             "quantity=Lineitem quantity", "unit_price=Lineitem price"]
    report = import_orders(source, tmp_path / "landing", make_mapping(None, flags))
    assert (report.accepted_rows, report.date_format, report.days) == (3, "iso", 2)
    orders = _landed(tmp_path / "landing", "orders").set_index("order_id")["order_ts"]
    assert orders.to_dict() == {"#1001": pd.Timestamp("2024-03-03 23:30"), "#1002": pd.Timestamp("2024-03-04 10:00"),
                                "#1003": pd.Timestamp("2024-03-04 12:00")}
