"""The Online Retail importer on hand-built fixtures; the expected numbers are counted by hand in
tests/fixtures/online_retail/EXPECTED.md, independently of the code."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.importers.online_retail import REASONS, import_online_retail
from hashiramart_assets.importers.parsing import parse_dates

FIXTURES = Path(__file__).parents[1] / "fixtures" / "online_retail"
LAYOUT_I = FIXTURES / "online_retail_I.csv"
LAYOUT_II = FIXTURES / "online_retail_II.csv"


def _landed(landing_dir: Path, table: str) -> pd.DataFrame:
    days = landing.landed_days(landing_dir, table)
    return pd.concat([pd.read_parquet(landing.day_path(landing_dir, table, d)) for d in days], ignore_index=True)


def _table(landing_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(landing.table_path(landing_dir, table))


def _quarantine(landing_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(landing_dir / "_quarantine" / "online_retail.parquet")


def _by_reason(**counts: int) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in REASONS}


@pytest.fixture(scope="module")
def landed_i(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing_i")
    import_online_retail(LAYOUT_I, out)
    return out


@pytest.fixture(scope="module")
def landed_ii(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing_ii")
    import_online_retail(LAYOUT_II, out)
    return out


def test_layout_i_counts_match_the_hand_count(tmp_path):
    messages: list[str] = []
    report = import_online_retail(LAYOUT_I, tmp_path, progress=messages.append)
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (43, 19, 24)
    assert report.accepted_rows + report.quarantined_rows == report.input_rows
    assert report.quarantine_by_reason == _by_reason(
        unparseable_row=5, cancellation=2, adjustment=1, missing_customer=4, non_product_code=9,
        non_positive_quantity=1, non_positive_price=1, duplicate_row=1,
    )
    assert (report.days, report.orders, report.customers, report.products) == (4, 11, 6, 16)
    assert (report.start_date, report.end_date) == ("2010-12-01", "2010-12-13")
    assert (report.encoding, report.date_format, report.notes) == ("cp1252", "us", [])
    assert messages and "43 rows" in messages[0]
    assert report.examples[:4] == [
        f"{LAYOUT_I} row 7, field StockCode: non_product_code (StockCode='POST')",
        f"{LAYOUT_I} row 8, field InvoiceNo: cancellation (InvoiceNo='C536379')",
        f"{LAYOUT_I} row 9, field InvoiceNo: cancellation (InvoiceNo='C536383')",
        f"{LAYOUT_I} row 10, field CustomerID: missing_customer (CustomerID='')",
    ]
    assert f"{LAYOUT_I} row 16: duplicate_row (copy of row 12)" in report.examples
    assert len(report.examples) == 3 + 2 + 1 + 3 + 3 + 1 + 1 + 1  # up to 3 per reason
    saved = json.loads((tmp_path / "_reports" / "online_retail_import.json").read_text())
    assert saved == report.to_dict()
    manifest = landing.read_manifest(tmp_path)
    assert manifest["source"] == "online-retail" and manifest["source_file"] == str(LAYOUT_I)
    assert (manifest["start_date"], manifest["end_date"]) == ("2010-12-01", "2010-12-13")
    assert (manifest["input_rows"], manifest["accepted_rows"], manifest["quarantined_rows"]) == (43, 19, 24)


def test_layout_i_records_the_calendar_of_its_span(tmp_path):
    report = import_online_retail(LAYOUT_I, tmp_path)
    closed = ["2010-12-02", "2010-12-04", *(f"2010-12-{d:02d}" for d in range(6, 13))]
    assert report.calendar == {
        "start_date": "2010-12-01", "end_date": "2010-12-13", "calendar_days": 13, "trading_days": 4,
        "closed_days": 9, "closed_weekdays": [],  # no weekday occurs 4 times in 13 days
        "closed_periods": ["2010-12-02", "2010-12-04", "2010-12-06..2010-12-12 (7 days)"],
        "short_dates": ["2010-12-01", "2010-12-03", "2010-12-05", "2010-12-13"],  # a week either side of 6..12
        "notes": ["closed on 9 other day(s): 2010-12-02, 2010-12-04, 2010-12-06..2010-12-12 (7 days)"],
    }
    assert landing.landed_days(tmp_path, "orders") == landing.landed_days(tmp_path, "events") == sorted(
        [*closed, "2010-12-01", "2010-12-03", "2010-12-05", "2010-12-13"])
    for day in closed:
        for table in landing.DAILY_TABLES:
            empty = pd.read_parquet(landing.day_path(tmp_path, table, day))
            assert len(empty) == 0 and list(empty.columns) == list(landing.TABLE_COLUMNS[table])
    calendar = landing.read_manifest(tmp_path)["calendar"]
    assert calendar["closed_dates"] == closed and calendar["inferred"] is True


def test_layout_ii_counts_match_the_hand_count(tmp_path):
    report = import_online_retail(LAYOUT_II, tmp_path)
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (32, 13, 19)
    assert report.quarantine_by_reason == _by_reason(
        unparseable_row=2, cancellation=2, adjustment=2, missing_customer=2, non_product_code=7,
        non_positive_quantity=1, non_positive_price=2, duplicate_row=1,
    )
    assert (report.days, report.orders, report.customers, report.products) == (4, 9, 4, 10)
    assert (report.start_date, report.end_date) == ("2009-12-01", "2009-12-04")
    assert (report.encoding, report.date_format) == ("utf-8-sig", "iso")


@pytest.mark.parametrize(
    ("fixture", "accepted_rows"), [(LAYOUT_I, [1, 2, 3, 4, 5, 6, 12, 15, 25, 26, 27, 28, 30, 31, 32, 37, 38, 42, 43]),
                                   (LAYOUT_II, [1, 2, 3, 4, 8, 13, 14, 21, 22, 25, 30, 31, 32])],
)
def test_every_row_is_landed_or_quarantined_exactly_once(tmp_path, fixture, accepted_rows):
    report = import_online_retail(fixture, tmp_path)
    quarantined = sorted(_quarantine(tmp_path)["source_row"])
    assert sorted(quarantined + accepted_rows) == list(range(1, report.input_rows + 1))


@pytest.mark.parametrize("which", ["landed_i", "landed_ii"])
def test_landed_tables_follow_the_contract(request, which):
    out: Path = request.getfixturevalue(which)
    orders, events = _landed(out, "orders"), _landed(out, "events")
    for table, frame in (("orders", orders), ("events", events), ("customers", _table(out, "customers")),
                         ("products", _table(out, "products"))):
        conformed = landing.conform(frame, table)
        assert list(frame.columns) == list(landing.TABLE_COLUMNS[table])
        assert (conformed.dtypes == frame.dtypes).all(), table
    quarantine = _quarantine(out)
    assert list(quarantine.columns) == [*landing.QUARANTINE_COLUMNS, "field", "detail"]
    assert (quarantine.astype(landing.QUARANTINE_COLUMNS).dtypes == quarantine.dtypes).all()
    assert len(orders) == len(events)
    assert (events["event_type"] == "purchase").all()
    assert (events["order_id"] == events["session_id"]).all() and events["event_id"].is_unique
    assert set(events["event_id"]) == {f"E-{o}-{n}" for o, n in zip(orders["order_id"], orders["line_no"], strict=True)}
    assert not orders.duplicated(["order_id", "line_no"]).any()
    assert (orders["quantity"] > 0).all() and (orders["unit_price"] > 0).all()
    assert (orders["unit_price"] == orders["list_price"]).all()
    assert not orders["promo"].any() and not orders["is_return"].any() and (orders["channel"] == "unknown").all()
    for day in landing.landed_days(out, "orders"):  # every line sits in its own day's file
        part = pd.read_parquet(landing.day_path(out, "orders", day))
        assert (part["order_ts"].dt.strftime("%Y-%m-%d") == day).all()


def test_line_numbers_count_accepted_lines_in_file_order(landed_i, landed_ii):
    orders = pd.concat([_landed(landed_i, "orders"), _landed(landed_ii, "orders")], ignore_index=True)

    def lines(order_id: str) -> list[tuple[int, str]]:
        part = orders[orders["order_id"] == order_id].sort_values("line_no")
        return list(zip(part["line_no"], part["product_id"], strict=True))

    assert lines("536367") == [(1, "84879"), (2, "22745")]
    assert lines("536370") == [(1, "22728"), (2, "21724")]
    assert lines("537208") == [(1, "DCGSSGIRL"), (2, "22423")]
    assert lines("489448") == [(1, "85123A"), (2, "85123A")]
    assert lines("489442") == [(1, "21871"), (2, "21871")]


def test_order_lines_keep_the_file_values(landed_i):
    orders = _landed(landed_i, "orders").set_index(["order_id", "line_no"])
    first = orders.loc[("536365", 1)]
    assert first["product_id"] == "85123A" and first["quantity"] == 6 and first["unit_price"] == pytest.approx(2.55)
    assert first["order_ts"] == pd.Timestamp("2010-12-01 08:26") and first["customer_id"] == 17850
    assert orders.loc[("537203", 1), "customer_id"] == 17850  # CustomerID "17850.0"
    assert orders.loc[("537203", 2), "product_id"] == "85123A"  # stock code "85123a"
    assert orders.loc[("537204", 1), "country"] == "Café Land"  # latin-1 decoded


def test_customers_are_derived_from_accepted_sales(landed_i, landed_ii):
    one = _table(landed_i, "customers").set_index("customer_id")
    assert sorted(one.index) == [12345, 12583, 13047, 14096, 14911, 17850]
    assert one.loc[14096, "signup_date"] == pd.Timestamp("2010-12-13")  # its 12/5 CRUK line is rejected
    assert one.loc[17850, "signup_date"] == pd.Timestamp("2010-12-01")
    assert (one.loc[12583, "country"], one.loc[12583, "region"]) == ("France", "Europe")
    assert (one.loc[12345, "country"], one.loc[12345, "region"]) == ("Café Land", "Other")
    assert (one["segment"] == "unknown").all()
    two = _table(landed_ii, "customers").set_index("customer_id")
    assert sorted(two.index) == [13085, 15362, 16321, 18102]
    assert two.loc[13085, "country"] == "United Kingdom"  # 8 UK lines beat 1 EIRE line
    assert (two.loc[16321, "signup_date"], two.loc[16321, "region"]) == (pd.Timestamp("2009-12-04"), "Asia Pacific")
    orders = _landed(landed_ii, "orders")
    assert orders.loc[orders["order_id"] == "489454", "country"].item() == "EIRE"


def test_products_are_derived_from_accepted_sales(landed_i, landed_ii):
    one = _table(landed_i, "products").set_index("product_id")
    assert len(one) == 16 and set(one.index) == set(_landed(landed_i, "orders")["product_id"])
    assert one.loc["85123A", "base_price"] == pytest.approx(2.75)
    assert one.loc["22633", "base_price"] == pytest.approx(1.975)
    assert one.loc["22633", "launch_date"] == pd.Timestamp("2010-12-01")
    assert one.loc["85123A", "name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert tuple(one.loc["71053", ["department", "category", "category_path"]]) == ("Home", "Lighting",
                                                                                      "Home > Lighting")
    assert tuple(one.loc["22086", ["department", "category"]]) == ("Seasonal", "Christmas")
    assert tuple(one.loc["DCGSSGIRL", ["department", "category"]]) == ("Bags", "Bags")
    assert one.loc["21733", "name"] == "RED HANGING HEART, T-LIGHT HOLDER"
    assert "85123a" not in one.index
    two = _table(landed_ii, "products").set_index("product_id")
    assert len(two) == 10
    assert two.loc["21871", "name"] == "SAVE THE PLANET MUG"  # 2 lines beat "mug save the planet"
    assert two.loc["21871", "department"] == "Kitchen"
    assert tuple(two.loc["90214Y", ["name", "category_path"]]) == ("90214Y", "Other > Other")
    assert (two.loc["22139", "base_price"], two.loc["22139", "launch_date"]) == (4.95, pd.Timestamp("2009-12-04"))


def test_quarantine_keeps_the_original_row_text(landed_i, landed_ii):
    one = _quarantine(landed_i).set_index("source_row")
    assert (one["source_file"] == str(LAYOUT_I)).all()
    assert one.loc[16, "reason"] == "duplicate_row" and one.loc[29, "reason"] == "non_product_code"
    assert json.loads(one.loc[29, "raw"]) == {
        "InvoiceNo": "537202", "StockCode": "gift_0001_40", "Description": "Dotcomgiftshop Gift Voucher £40.00",
        "Quantity": "1", "InvoiceDate": "12/5/2010 11:00", "UnitPrice": "34.04", "CustomerID": "13047",
        "Country": "United Kingdom",
    }
    assert json.loads(one.loc[23, "raw"])["Quantity"] == "three"
    assert json.loads(one.loc[41, "raw"])["CustomerID"] == "1234X"
    assert json.loads(one.loc[10, "raw"])["CustomerID"] == ""  # blank stays blank, not "nan"
    # the column that failed and its value; for a copy, the row it copies
    assert [tuple(one.loc[row, ["field", "detail"]]) for row in (22, 23, 39, 40, 41)] == [
        ("InvoiceDate", "InvoiceDate='not a date'"), ("Quantity", "Quantity='three'"),
        ("UnitPrice", "UnitPrice='abc'"), ("Quantity", "Quantity='1.5'"), ("CustomerID", "CustomerID='1234X'")]
    assert tuple(one.loc[8, ["field", "detail"]]) == ("InvoiceNo", "InvoiceNo='C536379'")
    assert tuple(one.loc[24, ["field", "detail"]]) == ("InvoiceNo", "InvoiceNo='A563185'")
    assert tuple(one.loc[10, ["field", "detail"]]) == ("CustomerID", "CustomerID=''")
    assert tuple(one.loc[29, ["field", "detail"]]) == ("StockCode", "StockCode='gift_0001_40'")
    assert tuple(one.loc[20, ["field", "detail"]]) == ("Quantity", "Quantity='-2'")
    assert pd.isna(one.loc[16, "field"]) and one.loc[16, "detail"] == "copy of row 12"
    two = _quarantine(landed_ii).set_index("source_row")
    assert two.loc[15, "reason"] == "unparseable_row"
    raw = json.loads(two.loc[9, "raw"])  # header spelled as in the file, spaces included
    assert (raw["Invoice"], raw[" Price "], raw["Customer ID "]) == ("489438", "0.98", "18102.0")
    assert raw["Description"] == "DINOSAURS  WRITING SET "  # untrimmed
    assert tuple(two.loc[12, ["field", "detail"]]) == ("StockCode", "StockCode='ADJUST'")
    assert tuple(two.loc[28, ["field", "detail"]]) == (" Price ", " Price ='-4.95'")  # header as in the file
    assert two.loc[9, "detail"] == "copy of row 8"


def test_quarantined_text_survives_slashes_backslashes_quotes_and_newlines(tmp_path):
    odd = 'A\\/B "quoted" 1/2\nnext line \u0085 end'
    source = tmp_path / "odd.csv"
    pd.DataFrame({"InvoiceNo": ["1"], "StockCode": ["POST"], "Description": [odd], "Quantity": ["1"],
                  "InvoiceDate": ["12/1/2010 8:26"], "UnitPrice": ["1"], "CustomerID": ["1"], "Country": ["UK"]}
                 ).to_csv(source, index=False)
    import_online_retail(source, tmp_path / "landing")
    raw = _quarantine(tmp_path / "landing").loc[0, "raw"]
    assert json.loads(raw)["Description"] == odd and json.loads(raw)["InvoiceDate"] == "12/1/2010 8:26"
    assert '"12/1/2010 8:26"' in raw


def test_missing_columns_error_names_the_file_and_the_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice,StockCode,Quantity,InvoiceDate,Country\n1,2,3,2010-01-01 10:00:00,UK\n")
    with pytest.raises(ValueError) as error:
        import_online_retail(bad, tmp_path / "landing")
    message = str(error.value)
    assert str(bad) in message
    assert "'UnitPrice' or 'Price'" in message and "'CustomerID' or 'Customer ID'" in message
    assert "'Description'" in message and "found columns ['Invoice', 'StockCode'" in message
    assert not (tmp_path / "landing").exists()


def test_headers_match_ignoring_case_spaces_and_underscores(tmp_path):
    source = tmp_path / "odd_headers.csv"
    source.write_text(
        " invoice_no ,STOCK_CODE,description,quantity,Invoice Date,unit_price,customer_id,COUNTRY\n"
        "1001,22423,REGENCY CAKESTAND 3 TIER,2,2011-01-04 10:00:00,12.75,17850,United Kingdom\n"
    )
    report = import_online_retail(source, tmp_path / "landing")
    assert (report.accepted_rows, report.customers, report.products) == (1, 1, 1)


def test_reimport_requires_replace_and_is_idempotent(tmp_path):
    first = import_online_retail(LAYOUT_II, tmp_path)
    snapshot = {t: _landed(tmp_path, t) for t in landing.DAILY_TABLES}
    snapshot |= {t: _table(tmp_path, t) for t in ("customers", "products")}
    snapshot["quarantine"] = _quarantine(tmp_path)
    with pytest.raises(ValueError, match="--replace"):
        import_online_retail(LAYOUT_II, tmp_path)
    again = import_online_retail(LAYOUT_II, tmp_path, replace=True)
    assert again.to_dict() == first.to_dict()
    after = {t: _landed(tmp_path, t) for t in landing.DAILY_TABLES}
    after |= {t: _table(tmp_path, t) for t in ("customers", "products")}
    after["quarantine"] = _quarantine(tmp_path)
    for name, frame in snapshot.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert landing.read_manifest(tmp_path)["start_date"] == "2009-12-01"
    assert not any(p.name.startswith(".staging") for p in tmp_path.iterdir())


def test_replace_removes_what_an_earlier_import_landed(tmp_path):
    import_online_retail(LAYOUT_I, tmp_path)
    report = import_online_retail(LAYOUT_II, tmp_path, replace=True)
    assert landing.landed_days(tmp_path, "orders") == ["2009-12-01", "2009-12-02", "2009-12-03", "2009-12-04"]
    assert len(_landed(tmp_path, "orders")) == report.accepted_rows == 13
    assert len(_table(tmp_path, "customers")) == 4 and len(_quarantine(tmp_path)) == 19
    manifest = landing.read_manifest(tmp_path)
    assert (manifest["start_date"], manifest["end_date"], manifest["source_file"]) == (
        "2009-12-01", "2009-12-04", str(LAYOUT_II))


def test_a_file_that_cannot_be_read_leaves_the_landing_zone_alone(tmp_path):
    import_online_retail(LAYOUT_II, tmp_path)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(LAYOUT_II.read_text(encoding="utf-8-sig") + "1,2,3,4,5,6,7,8,9,10\n")
    with pytest.raises(ValueError, match="not a readable CSV"):
        import_online_retail(ragged, tmp_path, replace=True)
    assert len(_landed(tmp_path, "orders")) == 13


def test_date_layout_is_chosen_per_file_and_never_mixed():
    us = parse_dates(pd.Series(["12/13/2010 9:00", "12/1/2010 8:26", "13/12/2010 9:00", "1/2/2011 10:00:05"]))
    assert us.family == "us"
    assert us.timestamps.tolist()[:2] == [pd.Timestamp("2010-12-13 09:00"), pd.Timestamp("2010-12-01 08:26")]
    assert pd.isna(us.timestamps[2])  # day-first text in a US file is not silently read day-first
    assert us.timestamps[3] == pd.Timestamp("2011-01-02 10:00:05")  # a US variant (with seconds) fills in
    european = parse_dates(pd.Series(["13/12/2010 9:00", "1/2/2011 10:00"]))
    assert european.family == "european" and european.timestamps[1] == pd.Timestamp("2011-02-01 10:00")
    ambiguous = parse_dates(pd.Series(["1/2/2011 10:00", "3/4/2011 11:00"]))
    assert ambiguous.family == "us" and ambiguous.notes and "european" in ambiguous.notes[0]


def assert_passes_raw_checks(land: Path, lake: str) -> None:
    """Every landed table and day goes through the raw layer without a quarantined row or failed check."""
    from hashiramart_assets.ingest import raw_tables

    for table in ("customers", "products"):
        assert raw_tables.ingest_dimension(land, lake, table).quarantined_rows == 0
    known = raw_tables.known_ids(lake)
    for table in landing.DAILY_TABLES:
        for day in landing.landed_days(land, table):
            outcome = raw_tables.ingest_day(land, lake, table, day, known)
            assert outcome.quarantined_rows == 0 and all(outcome.family_passed(f) for f in raw_tables.FAMILIES)


@pytest.mark.parametrize("fixture", [LAYOUT_I, LAYOUT_II])
def test_imported_data_passes_the_raw_layer_checks(tmp_path, fixture):
    land, lake = tmp_path / "landing", str(tmp_path / "lake")
    import_online_retail(fixture, land)
    assert_passes_raw_checks(land, lake)
