"""Landing -> raw lake: validate each landed file, keep good rows, quarantine bad rows with a reason.

This is the raw layer's real logic, free of Dagster so it can be tested and benchmarked directly.
Invariant for every file: input rows == accepted rows + quarantined rows. Re-ingesting a day
replaces that day's raw and quarantine files, so a re-run or a backfill never duplicates rows.

Daily files are also judged as a whole against the trading calendar (:func:`ingest_calendar_day`):
  closed    the calendar says the shop does not trade that day and the file is empty or absent: passes;
  trading   rows arrived (row-level failures are quarantined row by row, the good rows stay);
  rejected  a trading day whose file is missing, empty, unreadable or truncated (far below the same
            weekday's recent median): *every* row of it goes to the quarantine and the raw partition is
            written empty, so a bad day never reaches features, marts or training. Its status is kept on
            the lake (``raw/_days/``) so the models can name the days they were trained without.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from hashiramart_assets import landing
from hashiramart_assets.checks import schemas
from hashiramart_assets.checks.validation import Verdict, reasons_by_row, run_schema
from hashiramart_assets.lake import paths, store
from hashiramart_assets.settings import DEFAULT_VOLUME_LOOKBACK_WEEKS, DEFAULT_VOLUME_MIN_RATIO
from hashiramart_assets.trading_calendar import TradingCalendar

FAMILIES = ("rules", "keys", "references")
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
    status: str = "trading"  # daily files: trading | closed | rejected (see the module doc)
    problem: str | None = None  # why a day was rejected (missing, empty, truncated, unreadable)
    baseline: dict[str, object] = field(default_factory=dict)  # what the volume judgement compared against

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


def _schemas_for(table: str, day: str | None, known: dict[str, set]) -> dict[str, pa.DataFrameSchema]:
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


# What a day's volume is counted in besides rows: distinct orders (a file cut short loses whole orders,
# while a quiet day of a wholesale shop may just lack one 300-line order) and distinct sessions.
VOLUME_KEYS = {"orders": "order_id", "events": "session_id"}


def day_volume(lake_root: str, table: str, day: str) -> tuple[int, int]:
    """(rows, distinct orders / sessions) of a raw day partition."""
    uri = paths.raw_day_file(lake_root, table, day)
    rows = store.row_count(uri)
    if not rows:
        return 0, 0
    return rows, int(store.read_parquet(uri, columns=[VOLUME_KEYS[table]]).iloc[:, 0].nunique())


def same_weekday_counts(
    lake_root: str, table: str, day: str, weeks: int, existing: list[str] | None = None,
    cache: dict[str, tuple[int, int]] | None = None,
) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) of the last ``weeks`` *trading* days with ``day``'s weekday before it.

    Why the same weekday: retail volume is weekly-seasonal (a Sunday is not a short Monday). Closed and
    rejected days have empty raw partitions and are skipped; the search looks back at most 3 x ``weeks``
    weeks, so a long closure does not pull in last season's volume. ``cache`` keeps the counts of a run.
    """
    target = date.fromisoformat(day)
    candidates = existing if existing is not None else store.list_partition_days(paths.raw_table(lake_root, table))
    cache = {} if cache is None else cache
    found: dict[str, tuple[int, int]] = {}
    for other in reversed([d for d in candidates if d < day]):
        gap = (target - date.fromisoformat(other)).days
        if gap > 21 * weeks or len(found) >= weeks:
            break
        if gap % 7:
            continue
        if other not in cache:
            cache[other] = day_volume(lake_root, table, other)
        if cache[other][0]:
            found[other] = cache[other]
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class VolumeRule:
    """The volume judgement's settings (HASHIRAMART_VOLUME_MIN_RATIO, HASHIRAMART_VOLUME_LOOKBACK_WEEKS)."""

    min_ratio: float = DEFAULT_VOLUME_MIN_RATIO
    lookback_weeks: int = DEFAULT_VOLUME_LOOKBACK_WEEKS
    min_median: int = MIN_MEDIAN_FOR_RATIO


def _truncation(rows: int, keys: int, table: str, baseline: dict[str, tuple[int, int]], ratio: float,
                rule: VolumeRule) -> str | None:
    """Truncated when both the rows and the distinct orders (sessions) are far below the weekday's medians."""
    if len(baseline) < 2:  # one earlier day is no median: too early in the history to judge
        return None
    median_rows = statistics.median(r for r, _ in baseline.values())
    median_keys = statistics.median(k for _, k in baseline.values())
    unit = "orders" if table == "orders" else "sessions"
    if median_rows >= rule.min_median and rows < ratio * median_rows and keys < ratio * median_keys:
        return (f"truncated: {rows} rows and {keys} {unit} < {ratio:.0%} of the medians {median_rows:.0f} rows / "
                f"{median_keys:.0f} {unit} of the same weekday's last {len(baseline)} trading days")
    return None


def _reject_day(outcome: IngestOutcome, source: Path, lake_root: str, problem: str) -> None:
    """Move every row of a rejected day to its quarantine and leave the raw partition empty.

    Rows already quarantined keep their own reason; the others get ``day_rejected: <problem>``. Row
    numbers refer to the landed file, as everywhere in the quarantine.
    """
    table, day = outcome.table, outcome.day
    assert day is not None
    quarantine_uri = paths.quarantine_day_file(lake_root, table, day)
    if outcome.accepted_rows:
        df = pd.read_parquet(source).reset_index(drop=True)
        reasons = pd.Series(f"day_rejected: {problem}", index=df.index, dtype="string")
        if outcome.quarantined_rows and store.exists(quarantine_uri):
            earlier = store.read_parquet(quarantine_uri, columns=["source_row", "reason"])
            reasons.iloc[earlier["source_row"].to_numpy() - 1] = earlier["reason"].astype("string").to_numpy()
        store.write_parquet(_quarantine_frame(df, reasons, str(source)), quarantine_uri)
        outcome.quarantine_uri = quarantine_uri
        outcome.reasons["day_rejected"] = outcome.reasons.get("day_rejected", 0) + outcome.accepted_rows
        empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in landing.TABLE_COLUMNS[table].items()})
        outcome.raw_file = store.write_parquet(empty, paths.raw_day_file(lake_root, table, day))
        outcome.quarantined_rows += outcome.accepted_rows
        outcome.accepted_rows = 0
    outcome.status, outcome.problem = "rejected", problem


def ingest_calendar_day(
    landing_dir: Path, lake_root: str, table: str, day: str, known: dict[str, set],
    calendar: TradingCalendar, rule: VolumeRule, existing_days: list[str] | None = None,
    cache: dict[str, tuple[int, int]] | None = None,
) -> IngestOutcome:
    """Ingest one day and judge it as a whole against the trading calendar (see the module doc)."""
    source = landing.day_path(landing_dir, table, day)
    closed, short = calendar.is_closed(day), calendar.is_short(day)
    ratio = rule.min_ratio / 2 if short else rule.min_ratio
    baseline = same_weekday_counts(lake_root, table, day, rule.lookback_weeks, existing_days, cache)
    if not source.exists():
        outcome = IngestOutcome(table=table, day=day, source=str(source))
        empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in landing.TABLE_COLUMNS[table].items()})
        outcome.raw_file = store.write_parquet(empty, paths.raw_day_file(lake_root, table, day))
        store.delete(paths.quarantine_day_file(lake_root, table, day))
        if closed:
            outcome.status = "closed"
        else:
            outcome.structural_errors.append(f"no landed file at {source}")
            outcome.status, outcome.problem = "rejected", "missing: no landed file for a trading day"
    else:
        outcome = ingest_file(source, lake_root, table, day, known)
        if outcome.structural_errors:
            _reject_day(outcome, source, lake_root, "unreadable: " + "; ".join(outcome.structural_errors))
        elif outcome.input_rows == 0 and not closed:
            outcome.status, outcome.problem = "rejected", "empty: no rows on a trading day"
        elif outcome.input_rows == 0:
            outcome.status = "closed"
        else:
            keys = _distinct_keys(source, table)
            if (why := _truncation(outcome.input_rows, keys, table, baseline, ratio, rule)) is not None:
                _reject_day(outcome, source, lake_root, why)
            elif cache is not None:  # the day's volume, for the days after it in this run
                cache[day] = (outcome.accepted_rows, keys)
    median = statistics.median(r for r, _ in baseline.values()) if baseline else None
    if cache is not None:
        cache.setdefault(day, (outcome.accepted_rows, 0))  # closed or rejected: no volume
    outcome.baseline = {
        "rows": outcome.input_rows, "status": outcome.status, "calendar": "closed" if closed else
        ("short" if short else "trading"), "weekday": date.fromisoformat(day).strftime("%A"),
        "same_weekday_median": median, "compared_with": baseline,
        "compared_as": ["rows", "orders" if table == "orders" else "sessions"], "min_ratio": ratio,
    }
    write_day_status(lake_root, outcome)
    return outcome


def _distinct_keys(source: Path, table: str) -> int:
    return int(pd.read_parquet(source, columns=[VOLUME_KEYS[table]]).iloc[:, 0].nunique())


def write_day_status(lake_root: str, outcome: IngestOutcome) -> None:
    """``raw/_days/<table>/date=<day>.json``: the day's status, counts and problem (Spark ignores ``_`` folders)."""
    assert outcome.day is not None
    record = {"day": outcome.day, "table": outcome.table, "status": outcome.status, "problem": outcome.problem,
              "input_rows": outcome.input_rows, "accepted_rows": outcome.accepted_rows,
              "quarantined_rows": outcome.quarantined_rows}
    store.write_text(json.dumps(record), paths.day_status_file(lake_root, outcome.table, outcome.day))


def rejected_days(lake_root: str, table: str = "orders") -> dict[str, str]:
    """Days whose landed file the raw layer rejected (day -> problem), oldest first."""
    found: dict[str, str] = {}
    for record in store.read_texts(paths.day_status_dir(lake_root, table)):
        status = json.loads(record)
        if status.get("status") == "rejected":
            found[str(status["day"])] = str(status.get("problem") or "rejected")
    return dict(sorted(found.items()))


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
