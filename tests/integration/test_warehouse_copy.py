"""Lake frames COPY into the real embedded Postgres with every value meaning what it meant in pandas."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import sqlalchemy

from hashiramart_assets.warehouse.load import replace_days, replace_table
from tests.support import session_postgres_database


@pytest.fixture(scope="module")
def url(platform_home) -> str:
    return session_postgres_database("hm_copy")


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def test_awkward_values_round_trip(url):
    tricky = ['plain', '', None, 'comma, inside', 'quote " inside', 'new\nline', 'ünïcødé ☕', '\\N']
    n = len(tricky)
    df = pd.DataFrame({
        "id": range(n),
        "text": pd.Series(tricky, dtype="string"),
        "obj": pd.Series(tricky, dtype=object),
        "qty": pd.array([1, None, 3, -4, 5, None, 7, 8], dtype="Int64"),
        "price": [1.5, float("nan"), 0.1, -2.0, 1e-9, 3.25, 1e12, 0.0],
        "flag": pd.array([True, False, None, True, False, True, None, False], dtype="boolean"),
        "ts": pd.to_datetime(["2025-01-01 00:00:00.123456", None, "2025-02-28 23:59:59", "2025-03-01",
                              "2025-12-31 12:00:00.000001", "2025-06-15 06:30:00", "2025-01-01", "2025-01-02"],
                             format="ISO8601"),
        "segment": pd.Series(["a", "b", None, "a", "b", "a", "c", "c"], dtype="category"),
    })
    assert replace_table(url, "copytest", "tricky", df) == n
    got = _rows(url, 'select id, text, obj, qty, price, flag, ts, segment from copytest.tricky order by id')
    assert [r[0] for r in got] == list(range(n))
    assert [r[1] for r in got] == tricky  # NULL stays NULL, '' stays '', the literal \N stays text
    assert [r[2] for r in got] == tricky
    assert [r[3] for r in got] == [1, None, 3, -4, 5, None, 7, 8]
    prices = [r[4] for r in got]
    expected = [1.5, None, 0.1, -2.0, 1e-9, 3.25, 1e12, 0.0]
    assert prices[1] is None and all(math.isclose(a, b) for a, b in zip(prices, expected, strict=True) if b is not None)
    assert [r[5] for r in got] == [True, False, None, True, False, True, None, False]
    assert [r[6] for r in got] == [None if pd.isna(t) else t.to_pydatetime() for t in df["ts"]]
    assert [r[7] for r in got] == ["a", "b", None, "a", "b", "a", "c", "c"]
    types = dict(_rows(url, "select column_name, data_type from information_schema.columns "
                            "where table_schema = 'copytest' and table_name = 'tricky'"))
    assert types["qty"] == "bigint" and types["ts"] == "timestamp without time zone" and types["flag"] == "boolean"


def test_days_replace_without_duplicates(url):
    def day(d: str, n: int) -> tuple[str, pd.DataFrame]:
        return d, pd.DataFrame({"event_id": [f"{d}-{i}" for i in range(n)],
                                "event_ts": pd.to_datetime([f"{d} 10:00"] * n)})

    assert replace_days(url, "copytest", "events", [day("2025-01-01", 3), day("2025-01-02", 2)], "event_ts") == {
        "2025-01-01": 3, "2025-01-02": 2}
    # a new table is loaded frozen, indexed after the load and analysed at once (planner statistics for dbt)
    assert _rows(url, "select n_live_tup, last_analyze is not null from pg_stat_user_tables "
                      "where schemaname = 'copytest' and relname = 'events'") == [(5, True)]
    assert _rows(url, "select indexname from pg_indexes where schemaname = 'copytest' and tablename = 'events'") \
        == [("events_event_ts_idx",)]
    # a re-load of one day into the existing table (a plain COPY: FREEZE would be refused there)
    replace_days(url, "copytest", "events", [day("2025-01-02", 4)], "event_ts")
    counts = _rows(url, "select event_ts::date::text, count(*) from copytest.events group by 1 order by 1")
    assert counts == [("2025-01-01", 3), ("2025-01-02", 4)]
