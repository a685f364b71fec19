"""Raw layer: landed source files -> validated Parquet on the lake (thin glue over ingest/)."""


import hashlib

import dagster as dg

from hashiramart_assets.automation import FRESHNESS
from hashiramart_assets.checks.raw_checks import family_result, raw_check_specs, volume_result
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.ingest.raw_tables import IngestOutcome
from hashiramart_assets.resources.lake import LakeResource

GROUP = "raw"
MIN_VOLUME_RATIO = 0.5  # a day below half the recent median is treated as truncated


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
) -> dg.MaterializeResult:
    families = ["rules", "keys"] + (["references"] if outcomes and outcomes[0].day else [])
    checks = [family_result(f, outcomes) for f in families]
    checks.append(volume_result(volume_problems, {o.label: o.input_rows for o in outcomes}))
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
    table: str, description: str, partitions_def: dg.DailyPartitionsDefinition
) -> dg.AssetsDefinition:
    key = dg.AssetKey([GROUP, table])

    @dg.asset(
        key=key,
        group_name=GROUP,
        freshness_policy=FRESHNESS,
        description=description,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[dg.AssetKey([GROUP, "customers"]), dg.AssetKey([GROUP, "products"])],
        check_specs=raw_check_specs(key, with_references=True),
        kinds={"parquet", "pandas"},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        known = raw_tables.known_ids(lake.root)
        outcomes, problems = [], {}
        for day in context.partition_keys:
            previous = raw_tables.previous_day_counts(lake.root, table, day)
            outcome = raw_tables.ingest_day(lake.landing, lake.root, table, day, known)
            outcomes.append(outcome)
            problems[outcome.label] = raw_tables.volume_problem(outcome.input_rows, previous, MIN_VOLUME_RATIO)
        return _result(context, outcomes, problems, lake.raw_table(table))

    return _asset


def build_raw_assets(partitions_def: dg.DailyPartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [
        _dimension_asset("customers", "Customers (segment, region, signup date) from the landed export."),
        _dimension_asset("products", "Product catalogue with its department > category tree."),
        _daily_asset("orders", "Order lines per day (order header denormalised).", partitions_def),
        _daily_asset("events", "Clickstream per day: view, add_to_cart, purchase.", partitions_def),
    ]
