"""Online Retail from a workbook whose yearly sheets overlap (as UCI's online_retail_II.xlsx does for
2010-12-01..2010-12-09), and from a gzipped CSV through the CLI. The workbook is built here with openpyxl;
every expected number below is counted by hand from the rows as written (see the comments per row)."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from hashiramart_assets import landing
from hashiramart_assets.cli import main
from hashiramart_assets.importers.online_retail import REASONS, import_online_retail

HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
UK = "United Kingdom"
R1 = ["536001", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, datetime(2010, 11, 30, 9, 0), 2.55, 17850.0, UK]
R2 = [536002, "22423", "REGENCY CAKESTAND 3 TIER", 2, datetime(2010, 12, 1, 10, 0), 12.75, 13047.0, UK]
R3 = [536002, "POST", "POSTAGE", 1, datetime(2010, 12, 1, 10, 0), 18.0, 13047.0, UK]
R4 = ["C536003", "22423", "REGENCY CAKESTAND 3 TIER", -1, datetime(2010, 12, 1, 11, 0), 12.75, 13047.0, UK]
R5 = [536004, "21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 6, datetime(2010, 12, 2, 12, 0), 4.25, 12583.0, "France"]
R7 = [536005, "84879", "ASSORTED COLOUR BIRD ORNAMENT", 8, datetime(2010, 12, 2, 13, 0), 1.69, None, UK]
R8 = [536006, "22633", "HAND WARMER UNION JACK", 6, datetime(2010, 12, 2, 14, 0), 1.85, 17850.0, UK]
NEW_1202 = [536007, "22086", "PAPER CHAIN KIT 50'S CHRISTMAS", 12, datetime(2010, 12, 2, 15, 0), 2.95, 14911.0, "EIRE"]
NEW_1203 = [536008, "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 12, datetime(2010, 12, 3, 9, 30), 2.55, 17850.0, UK]
NEW_1206 = [536009, "22423", "REGENCY CAKESTAND 3 TIER", 1, datetime(2010, 12, 6, 10, 0), 12.75, 13047.0, UK]

SHEET_1 = [  # "Year 2009-2010", data rows 1..8
    R1,  # 1 accepted (2010-11-30)
    R2,  # 2 accepted (2010-12-01)
    R3,  # 3 non_product_code (POST)
    R4,  # 4 cancellation
    R5,  # 5 accepted (2010-12-02)
    R5,  # 6 duplicate_row (copy of row 5 in the same sheet)
    R7,  # 7 missing_customer
    R8,  # 8 accepted (2010-12-02)
]
SHEET_2 = [  # "Year 2010-2011", data rows 1..12: starts by repeating 2010-12-01 and 2010-12-02
    R2,  # 1 duplicate_across_sheets
    R3,  # 2 duplicate_across_sheets (tried before non_product_code)
    R4,  # 3 duplicate_across_sheets (tried before cancellation)
    R5,  # 4 duplicate_across_sheets (sheet 1 holds two copies of R5 ...)
    R5,  # 5 duplicate_across_sheets (... so both copies here are sheet-1 rows)
    R5,  # 6 duplicate_row (a third copy: sheet 1 has only two)
    R7,  # 7 duplicate_across_sheets (tried before missing_customer)
    NEW_1202,  # 8 accepted: a 2010-12-02 sale that only this sheet has
    R8,  # 9 duplicate_across_sheets
    NEW_1203,  # 10 accepted (2010-12-03)
    NEW_1203,  # 11 duplicate_row
    NEW_1206,  # 12 accepted (2010-12-06; 12-04 and 12-05 have no sale)
]


def _workbook(path: Path, sheets: dict[str, list[list]], headers: dict[str, list[str]] | None = None) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append((headers or {}).get(name, HEADER))
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("xlsx")
    book = _workbook(root / "online_retail_II.xlsx", {"Year 2009-2010": SHEET_1, "Year 2010-2011": SHEET_2})
    messages: list[str] = []
    report = import_online_retail(book, root / "landing", progress=messages.append)
    return book, root / "landing", report, messages


def test_rows_repeated_across_sheets_are_quarantined_once_with_their_own_reason(imported):
    _book, _out, report, messages = imported
    assert (report.input_rows, report.accepted_rows, report.quarantined_rows) == (20, 7, 13)
    assert report.quarantine_by_reason == {reason: 0 for reason in REASONS} | {
        "duplicate_across_sheets": 7, "cancellation": 1, "missing_customer": 1, "non_product_code": 1,
        "duplicate_row": 3,
    }
    assert report.sheets == {"Year 2009-2010": 8, "Year 2010-2011": 12}
    assert report.sheet_overlap == {"duplicate_rows": 7, "days": ["2010-12-01", "2010-12-02"]}
    assert (report.encoding, report.date_format) == ("xlsx", "iso")
    assert (report.days, report.start_date, report.end_date) == (5, "2010-11-30", "2010-12-06")
    assert (report.orders, report.customers, report.products) == (7, 4, 5)
    assert any("7 rows repeat an earlier sheet" in m and "2010-12-01, 2010-12-02" in m for m in messages)


def test_quarantined_rows_point_at_their_sheet_and_row(imported):
    book, out, _report, _messages = imported
    quarantine = pd.read_parquet(out / "_quarantine" / "online_retail.parquet")
    first, second = f"{book}#Year 2009-2010", f"{book}#Year 2010-2011"
    got = sorted(zip(quarantine["source_file"], quarantine["source_row"], quarantine["reason"], strict=True))
    assert got == sorted([
        (first, 3, "non_product_code"), (first, 4, "cancellation"), (first, 6, "duplicate_row"),
        (first, 7, "missing_customer"),
        *[(second, row, "duplicate_across_sheets") for row in (1, 2, 3, 4, 5, 7, 9)],
        (second, 6, "duplicate_row"), (second, 11, "duplicate_row"),
    ])
    by_row = quarantine.set_index(["source_file", "source_row"])
    assert {key: by_row.loc[key, "detail"] for key in ((second, 3), (second, 6), (first, 6), (second, 11))} == {
        (second, 3): "copy of row 4 of sheet 'Year 2009-2010'",
        (second, 6): "copy of row 5 of sheet 'Year 2009-2010'",  # the third copy: an ordinary duplicate_row
        (first, 6): "copy of row 5", (second, 11): "copy of row 10",
    }
    assert tuple(by_row.loc[(first, 4), ["field", "detail"]]) == ("Invoice", "Invoice='C536003'")
    raw = by_row.loc[(second, 3), "raw"]
    assert json.loads(raw) == {"Invoice": "C536003", "StockCode": "22423", "Description": "REGENCY CAKESTAND 3 TIER",
                               "Quantity": "-1", "InvoiceDate": "2010-12-01 11:00:00", "Price": "12.75",
                               "Customer ID": "13047", "Country": UK}


def test_landed_lines_hold_each_sale_once(imported):
    _book, out, _report, _messages = imported
    orders = pd.concat([pd.read_parquet(landing.day_path(out, "orders", d))
                        for d in landing.landed_days(out, "orders")], ignore_index=True)
    got = sorted(zip(orders["order_ts"].dt.strftime("%Y-%m-%d"), orders["order_id"], orders["product_id"],
                     orders["quantity"], strict=True))
    assert got == [
        ("2010-11-30", "536001", "85123A", 6), ("2010-12-01", "536002", "22423", 2),
        ("2010-12-02", "536004", "21730", 6), ("2010-12-02", "536006", "22633", 6),
        ("2010-12-02", "536007", "22086", 12), ("2010-12-03", "536008", "85123A", 12),
        ("2010-12-06", "536009", "22423", 1),
    ]
    # the calendar: 2010-12-04 and 2010-12-05 had no sale and get explicit empty partitions
    assert landing.landed_days(out, "orders") == ["2010-11-30", "2010-12-01", "2010-12-02", "2010-12-03",
                                                  "2010-12-04", "2010-12-05", "2010-12-06"]
    assert len(pd.read_parquet(landing.day_path(out, "orders", "2010-12-04"))) == 0
    assert len(pd.read_parquet(landing.day_path(out, "events", "2010-12-05"))) == 0


def test_report_and_manifest_carry_the_calendar(imported):
    _book, out, report, _messages = imported
    assert report.calendar == {
        "start_date": "2010-11-30", "end_date": "2010-12-06", "calendar_days": 7, "trading_days": 5,
        "closed_days": 2, "closed_weekdays": [], "closed_periods": ["2010-12-04..2010-12-05 (2 days)"],
        "short_dates": [], "notes": ["closed on 2 other day(s): 2010-12-04..2010-12-05 (2 days)"],
    }
    saved = json.loads((out / "_reports" / "online_retail_import.json").read_text())
    assert saved == report.to_dict()
    manifest = landing.read_manifest(out)
    assert manifest["calendar"]["closed_dates"] == ["2010-12-04", "2010-12-05"]
    assert (manifest["source"], manifest["input_rows"], manifest["accepted_rows"]) == ("online-retail", 20, 7)


def test_sheets_with_other_columns_are_refused_naming_the_sheet(tmp_path):
    book = _workbook(tmp_path / "mixed.xlsx", {"A": SHEET_1[:2], "B": [row[:7] for row in SHEET_2[:2]]},
                     headers={"B": HEADER[:7]})
    with pytest.raises(ValueError) as error:
        import_online_retail(book, tmp_path / "landing")
    assert str(book) in str(error.value) and "sheet 'B' has columns" in str(error.value)
    assert "'Country'" in str(error.value)


def test_gzipped_csv_through_the_cli(tmp_path):
    plain = Path(__file__).parents[1] / "fixtures" / "online_retail" / "online_retail_II.csv"
    packed = tmp_path / "online_retail_II.csv.gz"
    with plain.open("rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    home = tmp_path / "home"
    env = {"HASHIRAMART_HOME": str(home), "HASHIRAMART_LANDING_DIR": str(home / "landing")}  # restored after
    result = CliRunner().invoke(main, ["import", "online-retail", str(packed)], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # the same hand-counted figures as the plain file (tests/fixtures/online_retail/EXPECTED.md)
    assert (report["input_rows"], report["accepted_rows"], report["quarantined_rows"]) == (32, 13, 19)
    assert (report["encoding"], report["compression"], report["delimiter"]) == ("utf-8-sig", "gzip", ",")
    assert report["calendar"]["trading_days"] == 4 and report["calendar"]["closed_days"] == 0
    saved = json.loads((home / "landing" / "_reports" / "online_retail_import.json").read_text())
    assert saved == report
