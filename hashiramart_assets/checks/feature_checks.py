"""Asset checks of the feature layer: Pandera schema on what Spark wrote, and volume vs the last run."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from hashiramart_assets.checks.validation import run_schema, sample_markdown
from hashiramart_assets.compat import RawMetadataValue

SCHEMA_CHECK = "schema_and_ranges"
VOLUME_CHECK = "volume"
MIN_VOLUME_RATIO = 0.5


def feature_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            SCHEMA_CHECK, asset=key, blocking=True,
            description="Pandera: columns, types, ranges and unique keys of the written feature table",
        ),
        dg.AssetCheckSpec(
            VOLUME_CHECK, asset=key, blocking=True,
            description="Not empty, and not below half of the previous materialisation's row count",
        ),
    ]


def schema_result(schema: pa.DataFrameSchema, df: pd.DataFrame) -> dg.AssetCheckResult:
    verdict = run_schema(schema, df, "rules")
    metadata: dict[str, RawMetadataValue] = {
        "rows_checked": verdict.rows,
        "failing_rows": verdict.failing_rows,
        "failures_by_check": dg.MetadataValue.json(verdict.failures_by_check),
    }
    if not verdict.passed:
        metadata["failing_rows_sample"] = dg.MetadataValue.md(sample_markdown(verdict.sample))
    return dg.AssetCheckResult(
        check_name=SCHEMA_CHECK,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None if verdict.passed else verdict.message(),
    )


def volume_result(rows: int, previous_rows: int | None) -> dg.AssetCheckResult:
    problem = None
    if rows == 0:
        problem = "no rows"
    elif previous_rows and rows < MIN_VOLUME_RATIO * previous_rows:
        problem = f"{rows} rows < {MIN_VOLUME_RATIO:.0%} of the previous run's {previous_rows}"
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=problem is None,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows": rows, "previous_rows": previous_rows or 0},
        description=problem,
    )
