"""Loading messy sales files: every input row is accepted or rejected with a reason, gaps are filled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.forecast import history_from_daily_sales, load_sales_history
from hashiramart_assets.ml.forecast.parsing import parse_dates, parse_flags, parse_numbers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forecast"


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_messy_csv_rows_are_accepted_or_rejected_with_reason_and_source_row() -> None:
    loaded = load_sales_history(FIXTURES / "messy_sales.csv")
    report = loaded.report
    # 14 data rows in the file; 7 are bad, one per reason (see the fixture, row numbers exclude the header).
    assert report.input_rows == 14
    assert report.accepted_rows == 7
    assert report.rejected_rows == 7
    assert report.accepted_rows + report.rejected_rows == report.input_rows
    assert report.encoding == "utf-8-sig"  # the file starts with a BOM
    rejected = dict(zip(loaded.rejected["source_row"], loaded.rejected["reason"], strict=True))
    assert rejected == {
        4: "negative_sales", 6: "duplicate_series_date", 8: "non_numeric_sales", 9: "missing_sales",
        10: "bad_date", 11: "missing_series_id", 13: "sales_on_closed_day",
    }
    assert report.rejected_by_reason == {reason: 1 for reason in rejected.values()}
    assert loaded.rejected.loc[loaded.rejected["source_row"] == 4, "Sales"].item() == "-3"  # raw value kept
    # Customers is an outcome of the day: a covariate known only afterwards (its past enters the model).
    assert report.ignored_columns == []
    assert [(c["name"], c["kind"], c["known_ahead"]) for c in report.covariates] == [
        ("x_customers", "numeric", False)]
    assert "x_customers" in loaded.history.columns
    assert report.coerced["price_unreadable"] == 2  # "oops" and an empty cell


def test_messy_csv_history_values_and_gap_fill() -> None:
    history = load_sales_history(FIXTURES / "messy_sales.csv").history.set_index(["series_id", "date"])
    # s1 spans Jan 1-5 with Jan 3 missing; s2 spans Jan 13-18 with Jan 14, 15, 17 missing: 4 filled rows.
    assert len(history) == 5 + 6
    s1 = history.loc["s1"]
    assert s1["sales"].tolist() == [10.0, 12.0, 0.0, 1234.5, 8.0]  # "1,234.5" has a thousands separator
    assert s1["holiday"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # state-holiday code "a" means holiday
    assert s1.loc[day("2024-01-03"), ["open", "imputed"]].tolist() == [0.0, True]  # file has an open column
    assert s1["price"].tolist() == [2.5, 2.5, 2.5, 2.4, 2.4]  # gap and "oops" keep the last known price
    s2 = history.loc["s2"]
    assert s2.loc[day("2024-01-13"), "sales"] == 5.0  # "01/13/2024": month-first
    assert s2.loc[day("2024-01-13"), "promo"] == 1.0  # "TRUE"
    assert s2.loc[day("2024-01-18"), "promo"] == 1.0  # "yes"
    assert s2.loc[day("2024-01-16"), ["sales", "open", "holiday", "imputed"]].tolist() == [0.0, 0.0, 1.0, False]
    assert s2["imputed"].tolist() == [False, True, True, False, True, False]


def test_latin1_semicolon_day_first_decimal_comma() -> None:
    loaded = load_sales_history(FIXTURES / "latin1_semicolon.csv")
    assert loaded.report.encoding == "latin-1"
    history = loaded.history
    assert history["series_id"].unique().tolist() == ["Café-1"]
    assert history["date"].tolist() == [day("2024-02-01"), day("2024-02-02"), day("2024-02-03"), day("2024-02-04")]
    assert history["sales"].tolist() == [3.5, 4.0, 0.0, 5.0]
    assert loaded.report.gap_rows_filled == 1


def test_without_open_column_gaps_are_real_zero_days_but_rejected_days_are_unknown() -> None:
    loaded = load_sales_history(FIXTURES / "no_open_gaps.csv")
    history = loaded.history.set_index("date")
    assert loaded.report.rejected_by_reason == {"non_numeric_sales": 1}
    # Mar 3 simply has no row: an open day without sales. Mar 4 had a row with unreadable sales: unknown.
    assert history.loc[day("2024-03-03"), ["sales", "open", "imputed"]].tolist() == [0.0, 1.0, False]
    assert history.loc[day("2024-03-04"), ["sales", "open", "imputed"]].tolist() == [0.0, 1.0, True]
    assert history.loc[day("2024-03-05"), ["promo", "price"]].tolist() == [1.0, 0.8]
    assert loaded.report.ignored_columns == ["notes"]
    assert loaded.report.ignored_because == {
        "notes": "text with 3 distinct values in 3 filled cells (free text or an identifier)"}


def test_missing_required_column_names_file_column_and_found_columns() -> None:
    path = FIXTURES / "missing_sales_column.csv"
    with pytest.raises(ValueError) as error:
        load_sales_history(path)
    message = str(error.value)
    assert str(path) in message
    assert "['date', 'sales']" in message
    assert "day_of_sale" in message and "qty_sold" in message


def test_parquet_with_typed_and_text_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "series_id": ["x", "x", "x", "y"],
            "date": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-02", "2024-05-03 10:30"], format="ISO8601"),
            "sales": ["3", "4.5", "9", "bad"],
            "promo": [True, False, True, False],
            "open": [1, 1, 1, 1],
        }
    )
    path = tmp_path / "sales.parquet"
    frame.to_parquet(path)
    loaded = load_sales_history(path)
    assert loaded.report.encoding == "parquet"
    assert loaded.report.rejected_by_reason == {"duplicate_series_date": 1, "non_numeric_sales": 1}
    assert loaded.rejected["source_row"].tolist() == [3, 4]
    assert loaded.history["sales"].tolist() == [3.0, 4.5]
    assert loaded.history["promo"].tolist() == [1.0, 0.0]


def test_file_with_no_usable_row_raises_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "all_bad.csv"
    path.write_text("series_id,date,sales\na,2024-01-01,-1\na,someday,2\n")
    with pytest.raises(ValueError, match=r"all_bad\.csv: none of the 2 rows is usable"):
        load_sales_history(path)


def test_parsers_on_common_spellings() -> None:
    dates = parse_dates(pd.Series(["2024-01-31", "31.01.2024", "2024/01/31", "20240131", "", "soon"]))
    assert dates.iloc[:4].tolist() == [day("2024-01-31")] * 4
    assert dates.iloc[4:].isna().all()
    numbers, missing = parse_numbers(pd.Series(["1,5", "2,000", " 7 ", "", "x"]))
    assert numbers.iloc[:3].tolist() == [1.5, 2000.0, 7.0]
    assert np.isnan(numbers.iloc[3]) and np.isnan(numbers.iloc[4])
    assert missing.tolist() == [False, False, False, True, False]
    flags = parse_flags(pd.Series(["0", "a", "b", "c", "", "False"]), nonzero_is_true=True)
    assert flags.iloc[:4].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert np.isnan(flags.iloc[4]) and flags.iloc[5] == 0.0
    assert np.isnan(parse_flags(pd.Series(["maybe"])).iloc[0])  # promo/open: unknown words are not "yes"


def test_history_from_daily_sales_densifies_with_open_days() -> None:
    mart = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02", "2025-01-04", "2025-01-04"]),
            "grain": ["product", "category", "category", "product", "category"],
            "item_id": ["P1", "Tea", "Tea", "P1", "Tea"],
            "category": ["Tea"] * 5, "department": ["Food"] * 5,
            "units": [3, 3, 2, 5, 5], "return_units": [0] * 5, "revenue": [30.0, 30.0, 20.0, 40.0, 40.0],
            "orders": [1, 1, 1, 2, 2], "promo": [False, False, True, True, True],
            "promo_share": [0.0, 0.0, 1.0, 1.0, 1.0], "avg_price": [10.0, 10.0, 10.0, 8.0, 8.0],
            "list_price": [10.0, 10.0, None, 10.0, 10.0], "is_open": [True] * 5,
        }
    )
    history = history_from_daily_sales(mart).set_index(["series_id", "date"])
    product = history.loc["product:P1"]
    # Jan 2 the shop traded (category row) but P1 sold nothing: an observed zero. Jan 3 nobody traded: closed.
    assert product["sales"].tolist() == [3.0, 0.0, 0.0, 5.0]
    assert product["open"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert product["imputed"].tolist() == [False, False, True, False]
    assert product["promo"].tolist() == [0.0, 0.0, 0.0, 1.0]
    category = history.loc["category:Tea"]
    assert category["price"].tolist() == [10.0, 10.0, 10.0, 10.0]  # Jan 2 falls back to avg_price
    assert history_from_daily_sales(mart, grain="category")["series_id"].unique().tolist() == ["category:Tea"]
