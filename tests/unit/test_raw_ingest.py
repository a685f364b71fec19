"""Raw ingestion on hand-made landed files: every corruption is quarantined with a reason and counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.lake import paths, store

DAY = "2025-03-04"


def _orders(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O-{i // 2}" for i in range(n)],
            "line_no": [i % 2 + 1 for i in range(n)],
            "order_ts": pd.to_datetime([f"{DAY} 10:{i:02d}" for i in range(n)]),
            "customer_id": [1, 1, 2, 2, 3, 3][:n],
            "product_id": ["P1", "P2", "P1", "P3", "P2", "P3"][:n],
            "quantity": [1, 2, 1, 1, 3, 1][:n],
            "unit_price": [10.0, 5.0, 9.0, 2.0, 5.0, 2.0][:n],
            "list_price": [10.0, 5.0, 10.0, 2.0, 5.0, 2.0][:n],
            "promo": [False, False, True, False, False, False][:n],
            "is_return": [False] * n,
            "channel": ["web"] * n,
            "country": ["JP"] * n,
        }
    )


KNOWN = {"product_id": {"P1", "P2", "P3"}, "customer_id": {1, 2, 3}}


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "landing", str(tmp_path / "lake")


def _ingest(lake: tuple[Path, str], df: pd.DataFrame, conform: bool = True) -> raw_tables.IngestOutcome:
    landing_dir, root = lake
    if conform:
        landing.write_day(landing_dir, "orders", DAY, df)
    else:
        target = landing.day_path(landing_dir, "orders", DAY)
        target.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(target, index=False)
    return raw_tables.ingest_day(landing_dir, root, "orders", DAY, KNOWN)


def test_good_day_is_accepted_whole(lake):
    outcome = _ingest(lake, _orders())
    assert (outcome.input_rows, outcome.accepted_rows, outcome.quarantined_rows) == (6, 6, 0)
    assert all(outcome.family_passed(f) for f in raw_tables.FAMILIES)
    assert store.row_count(paths.raw_day_file(lake[1], "orders", DAY)) == 6
    assert not store.exists(paths.quarantine_day_file(lake[1], "orders", DAY))


@pytest.mark.parametrize(
    ("corrupt", "family", "bad_rows"),
    [
        (lambda df: df.assign(quantity=df["quantity"].where(df.index != 2, -4)), "rules", 1),
        (lambda df: pd.concat([df, df.iloc[[0, 1]]], ignore_index=True), "keys", 2),
        (lambda df: df.assign(product_id=df["product_id"].where(df.index != 5, "NOPE")), "references", 1),
        (lambda df: df.assign(order_ts=df["order_ts"].where(df.index != 0, pd.Timestamp("2025-03-05 01:00"))),
         "rules", 1),
    ],
    ids=["negative_quantity", "duplicate_order_line", "unknown_product", "timestamp_outside_day"],
)
def test_corruption_fails_its_family_and_is_quarantined(lake, corrupt, family, bad_rows):
    df = corrupt(_orders())
    outcome = _ingest(lake, df)
    assert not outcome.family_passed(family)
    others = [f for f in raw_tables.FAMILIES if f != family]
    assert all(outcome.family_passed(f) for f in others)
    assert outcome.quarantined_rows == bad_rows
    assert outcome.accepted_rows + outcome.quarantined_rows == len(df)
    quarantine = store.read_parquet(paths.quarantine_day_file(lake[1], "orders", DAY))
    assert len(quarantine) == bad_rows
    assert quarantine["reason"].str.startswith(f"{family}:").all()
    assert set(quarantine.columns) >= {"source_file", "source_row", "reason", "order_id", "quantity"}


def test_duplicate_keeps_first_occurrence(lake):
    df = pd.concat([_orders(), _orders().iloc[[0]]], ignore_index=True)
    _ingest(lake, df)
    raw = store.read_parquet(paths.raw_day_file(lake[1], "orders", DAY))
    assert len(raw) == 6 and raw.duplicated(["order_id", "line_no"]).sum() == 0
    quarantine = store.read_parquet(paths.quarantine_day_file(lake[1], "orders", DAY))
    assert quarantine["source_row"].tolist() == [7]


def test_missing_column_quarantines_every_row_and_names_the_column(lake):
    outcome = _ingest(lake, _orders().drop(columns=["quantity"]), conform=False)
    assert outcome.accepted_rows == 0 and outcome.quarantined_rows == 6
    assert "quantity" in outcome.structural_errors[0]
    assert not outcome.family_passed("rules")


def test_empty_day_fails_volume_and_missing_file_is_reported(lake):
    outcome = _ingest(lake, _orders().iloc[0:0])
    assert outcome.input_rows == 0
    assert raw_tables.volume_problem(outcome.input_rows, [100, 120], 0.5) == "no rows"
    missing = raw_tables.ingest_day(lake[0], lake[1], "orders", "2025-03-09", KNOWN)
    assert "no landed file" in missing.structural_errors[0]


def test_volume_flags_truncated_day_against_recent_median():
    assert raw_tables.volume_problem(400, [1000, 900, 1100], 0.5) is not None
    assert raw_tables.volume_problem(600, [1000, 900, 1100], 0.5) is None
    assert raw_tables.volume_problem(5, [], 0.5) is None
    # tiny days are too noisy to call truncated; only emptiness counts there
    assert raw_tables.volume_problem(18, [50, 55, 48], 0.5) is None
    assert raw_tables.volume_problem(0, [50, 55, 48], 0.5) == "no rows"


def test_reingesting_a_day_replaces_it(lake):
    _ingest(lake, pd.concat([_orders(), _orders().iloc[[0]]], ignore_index=True))
    assert store.exists(paths.quarantine_day_file(lake[1], "orders", DAY))
    _ingest(lake, _orders())
    assert store.row_count(paths.raw_day_file(lake[1], "orders", DAY)) == 6
    assert not store.exists(paths.quarantine_day_file(lake[1], "orders", DAY))
