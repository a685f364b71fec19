"""Raw layer: landed source files -> validated Parquet on the lake (thin glue over ingest/)."""


import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from hashiramart_assets import keys
from hashiramart_assets.automation import FRESHNESS
from hashiramart_assets.checks.raw_checks import (
    failed_days,
    family_result,
    raw_check_specs,
    run_severity,
    volume_result,
)
from hashiramart_assets.compat import RawMetadataValue
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.ingest.raw_tables import IngestOutcome, VolumeRule
from hashiramart_assets.lake import paths, store
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.settings import DEFAULT_MAX_REJECTED_DAY_SHARE, Settings
from hashiramart_assets.trading_calendar import TradingCalendar, declared_calendar, load_calendar

GROUP = "raw"
MIN_VOLUME_RATIO = 0.5  # dimension tables: a table below half its previous size is treated as truncated
DAYS_SHOWN = 31  # the volume check's metadata shows what the last this many days (and every failure) compared with


@dataclass(frozen=True)
class RawPolicy:
    """How daily files are judged: the shop's declared calendar, the volume rule, the tolerated failures."""

    declared: TradingCalendar = field(default_factory=TradingCalendar)
    volume: VolumeRule = field(default_factory=VolumeRule)
    max_rejected_day_share: float = DEFAULT_MAX_REJECTED_DAY_SHARE

    @classmethod
    def from_settings(cls, settings: Settings) -> "RawPolicy":
        return cls(
            declared_calendar(settings.closed_weekdays, settings.closed_dates, settings.short_dates),
            VolumeRule(settings.volume_min_ratio, settings.volume_lookback_weeks),
            settings.max_rejected_day_share,
        )


def previous_row_count(context: dg.AssetExecutionContext) -> int | None:
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("dagster/row_count")
    return int(value.value) if value is not None else None


def _result(
    context: dg.AssetExecutionContext,
    outcomes: list[IngestOutcome],
    volume_problems: dict[str, str | None],
    lake_uri: str,
    max_rejected_share: float = 0.0,
) -> dg.MaterializeResult:
    families = ["rules", "keys"] + (["references"] if outcomes and outcomes[0].day else [])
    severity = run_severity(outcomes, families, max_rejected_share)
    checks = [family_result(f, outcomes, severity) for f in families]
    daily = bool(outcomes and outcomes[0].day)
    failed = failed_days(outcomes, families)
    shown = {o.label: o.baseline for o in outcomes[-DAYS_SHOWN:] + failed if o.baseline} if daily else None
    checks.append(volume_result(volume_problems, {o.label: o.input_rows for o in outcomes}, severity, shown))
    version = hashlib.sha256(
        "".join(o.raw_file.content_hash for o in outcomes if o.raw_file).encode()
    ).hexdigest()[:16]
    accepted = sum(o.accepted_rows for o in outcomes)
    quarantined = sum(o.quarantined_rows for o in outcomes)
    reasons: dict[str, int] = {}
    for outcome in outcomes:
        for reason, count in outcome.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    context.log.info(
        f"{context.asset_key.to_user_string()}: {len(outcomes)} file(s), {accepted} rows accepted, "
        f"{quarantined} quarantined"
    )
    calendar_metadata: dict[str, RawMetadataValue] = {}
    if daily:
        statuses = [o.status for o in outcomes]
        rejected = {str(o.day): o.problem for o in outcomes if o.status == "rejected"}  # daily: day is set
        calendar_metadata = {
            "trading_days": statuses.count("trading"), "closed_days": statuses.count("closed"),
            "rejected_days": len(rejected), "rejected": dg.MetadataValue.json(rejected),
        }
        if failed and severity == dg.AssetCheckSeverity.WARN:
            days = ", ".join(str(o.day) for o in failed[:10])
            context.log.warning(
                f"{len(failed)} of {len(outcomes)} day(s) failed and were quarantined ({days}); the other days "
                "flow on, rejected days are excluded from training"
            )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": accepted,
            "lake_location": dg.MetadataValue.path(lake_uri),
            "input_rows": sum(o.input_rows for o in outcomes),
            "accepted_rows": accepted,
            "quarantined_rows": quarantined,
            "quarantine_reasons": dg.MetadataValue.json(reasons),
            "files": len(outcomes),
            "data_version": version,
            **calendar_metadata,
        },
        check_results=checks,
        data_version=dg.DataVersion(version),
    )


def _dimension_asset(table: str, description: str) -> dg.AssetsDefinition:
    key = dg.AssetKey([GROUP, table])

    @dg.asset(
        key=key,
        group_name=GROUP,
        freshness_policy=FRESHNESS,
        description=description,
        check_specs=raw_check_specs(key, with_references=False),
        kinds={"parquet", "pandas"},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        previous = previous_row_count(context)
        outcome = raw_tables.ingest_dimension(lake.landing, lake.root, table)
        problem = raw_tables.volume_problem(
            outcome.input_rows, [previous] if previous else [], MIN_VOLUME_RATIO
        )
        return _result(context, [outcome], {outcome.label: problem}, lake.raw_table(table))

    return _asset


def _daily_asset(
    table: str, description: str, partitions_def: dg.DailyPartitionsDefinition, policy: RawPolicy
) -> dg.AssetsDefinition:
    key = dg.AssetKey([GROUP, table])

    @dg.asset(
        key=key,
        group_name=GROUP,
        freshness_policy=FRESHNESS,
        description=description,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[keys.RAW_CUSTOMERS, keys.RAW_PRODUCTS],
        check_specs=raw_check_specs(key, with_references=True),
        kinds={"parquet", "pandas"},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        known = raw_tables.known_ids(lake.root)
        calendar = load_calendar(Path(lake.landing), policy.declared)
        existing = store.list_partition_days(paths.raw_table(lake.root, table))
        problems: dict[str, str | None] = {}
        counts: dict[str, tuple[int, int]] = {}
        outcomes = []
        for day in context.partition_keys:
            outcome = raw_tables.ingest_calendar_day(
                lake.landing, lake.root, table, day, known, calendar, policy.volume, existing, counts
            )
            if day not in existing:
                existing = sorted([*existing, day])
            outcomes.append(outcome)
            problems[outcome.label] = outcome.problem if outcome.status == "rejected" else None
        return _result(context, outcomes, problems, lake.raw_table(table), policy.max_rejected_day_share)

    return _asset


def build_raw_assets(
    partitions_def: dg.DailyPartitionsDefinition, policy: RawPolicy | None = None
) -> list[dg.AssetsDefinition]:
    policy = policy or RawPolicy()
    return [
        _dimension_asset("customers", "Customers (segment, region, signup date) from the landed export."),
        _dimension_asset("products", "Product catalogue with its department > category tree."),
        _daily_asset("orders", "Order lines per day (order header denormalised), judged against the trading "
                     "calendar: closed days pass empty, missing / empty / truncated trading days are rejected.",
                     partitions_def, policy),
        _daily_asset("events", "Clickstream per day: view, add_to_cart, purchase.", partitions_def, policy),
    ]
