"""Landing -> raw lake: validate each landed file, keep good rows, quarantine bad rows with a reason.

This is the raw layer's real logic, free of Dagster so it can be tested and benchmarked directly.
Invariant for every file: input rows == accepted rows + quarantined rows. Re-ingesting a day
replaces that day's raw and quarantine files, so a re-run or a backfill never duplicates rows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.checks import schemas
from hashiramart_assets.checks.validation import Verdict, reasons_by_row, run_schema
from hashiramart_assets.lake import paths, store

FAMILIES = ("rules", "keys", "references")
VOLUME_LOOKBACK_DAYS = 7
# Below this many rows a day's count is too noisy (a quiet Tuesday of a tiny shop) to call truncated;
# only emptiness is judged there.
MIN_MEDIAN_FOR_RATIO = 200


@dataclass
class IngestOutcome:
    """What happened to one landed file."""

    table: str
    day: str | None
    source: str
    input_rows: int = 0
    accepted_rows: int = 0
    quarantined_rows: int = 0
    structural_errors: list[str] = field(default_factory=list)  # file missing, columns missing, types
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    raw_file: store.WrittenFile | None = None
    quarantine_uri: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.table}[{self.day}]" if self.day else self.table

    def family_passed(self, family: str) -> bool:
        verdict = self.verdicts.get(family)
        return not self.structural_errors and (verdict is None or verdict.passed)


def _quarantine_frame(df: pd.DataFrame, reasons: pd.Series, source: str) -> pd.DataFrame:
    """Keep rejected rows as text with where they came from and why, so nothing is lost."""
    kept = df.loc[reasons.index].astype("string")
    kept.insert(0, "reason", reasons.astype("string").to_numpy())
    kept.insert(0, "source_row", pd.Series(reasons.index + 1, index=reasons.index).astype("int64"))
    kept.insert(0, "source_file", source)
    return kept.reset_index(drop=True)


def _structure_errors(df: pd.DataFrame, table: str) -> list[str]:
    expected = landing.TABLE_COLUMNS[table]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        return [f"missing columns {missing} (found {list(df.columns)})"]
    errors = []
    for column, dtype in expected.items():
        try:
            df[column].astype(dtype)
        except (ValueError, TypeError) as exc:
            errors.append(f"column {column!r} cannot be read as {dtype}: {exc}")
    return errors


def _schemas_for(table: str, day: str | None, known: dict[str, set]) -> dict[str, object]:
    if table == "customers":
        return {"rules": schemas.customers_rules(), "keys": schemas.single_key(table, "customer_id")}
    if table == "products":
        return {"rules": schemas.products_rules(), "keys": schemas.single_key(table, "product_id")}
    assert day is not None
    rules = schemas.orders_rules(day) if table == "orders" else schemas.events_rules(day)
    keys = schemas.orders_keys() if table == "orders" else schemas.single_key(table, "event_id")
    return {"rules": rules, "keys": keys, "references": schemas.references(table, known)}


def ingest_file(
    source: Path, lake_root: str, table: str, day: str | None, known: dict[str, set] | None = None
) -> IngestOutcome:
    """Validate one landed file and write its accepted and quarantined rows to the lake."""
    outcome = IngestOutcome(table=table, day=day, source=str(source))
    raw_uri = paths.raw_day_file(lake_root, table, day) if day else paths.raw_file(lake_root, table)
    quarantine_uri = (
        paths.quarantine_day_file(lake_root, table, day) if day else paths.quarantine_file(lake_root, table)
    )
    if not source.exists():
        outcome.structural_errors.append(f"no landed file at {source}")
        return outcome
    df = pd.read_parquet(source).reset_index(drop=True)
    outcome.input_rows = len(df)
    outcome.structural_errors = _structure_errors(df, table)
    if outcome.structural_errors:
        reasons = pd.Series("structure: " + "; ".join(outcome.structural_errors), index=df.index)
        accepted = pd.DataFrame({c: pd.Series(dtype=t) for c, t in landing.TABLE_COLUMNS[table].items()})
    else:
        df = landing.conform(df, table)
        for family, schema in _schemas_for(table, day, known or {}).items():
            outcome.verdicts[family] = run_schema(schema, df, family)
        reasons = reasons_by_row(list(outcome.verdicts.values()))
        accepted = df.drop(index=reasons.index)
    outcome.raw_file = store.write_parquet(accepted, raw_uri)
    outcome.accepted_rows = len(accepted)
    outcome.quarantined_rows = len(reasons)
    if len(reasons):
        store.write_parquet(_quarantine_frame(df, reasons, str(source)), quarantine_uri)
        outcome.quarantine_uri = quarantine_uri
        outcome.reasons = reasons.value_counts().astype(int).to_dict()
    else:
        store.delete(quarantine_uri)
    assert outcome.accepted_rows + outcome.quarantined_rows == outcome.input_rows, outcome.label
    return outcome


def ingest_dimension(landing_dir: Path, lake_root: str, table: str) -> IngestOutcome:
    return ingest_file(landing.table_path(landing_dir, table), lake_root, table, None)


def known_ids(lake_root: str) -> dict[str, set]:
    """Ids of the current raw dimensions, for the references check of daily tables."""
    products = store.read_parquet(paths.raw_file(lake_root, "products"), columns=["product_id"])
    customers = store.read_parquet(paths.raw_file(lake_root, "customers"), columns=["customer_id"])
    return {"product_id": set(products["product_id"]), "customer_id": set(customers["customer_id"])}


def ingest_day(landing_dir: Path, lake_root: str, table: str, day: str, known: dict[str, set]) -> IngestOutcome:
    return ingest_file(landing.day_path(landing_dir, table, day), lake_root, table, day, known)


def previous_day_counts(lake_root: str, table: str, day: str, lookback: int = VOLUME_LOOKBACK_DAYS) -> list[int]:
    """Raw row counts of up to ``lookback`` days before ``day`` (from Parquet footers)."""
    days = [d for d in store.list_partition_days(paths.raw_table(lake_root, table)) if d < day]
    return [store.row_count(paths.raw_day_file(lake_root, table, d)) for d in days[-lookback:]]


def volume_problem(input_rows: int, previous: list[int], min_ratio: float) -> str | None:
    """Why a day's volume is suspicious (empty, or far below the recent median), or None."""
    if input_rows == 0:
        return "no rows"
    if previous:
        median = statistics.median(previous)
        if median >= MIN_MEDIAN_FOR_RATIO and input_rows < min_ratio * median:
            return (
                f"{input_rows} rows < {min_ratio:.0%} of the median {median:.0f} "
                f"of the previous {len(previous)} days"
            )
    return None
