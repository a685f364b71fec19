"""Asset checks of the raw layer, built from the ingestion outcomes of the files in one run.

The checks are declared on the raw assets (``check_specs``) and evaluated inside the asset, on the very
rows it wrote; they are blocking, so a failure stops features and everything after them in that run.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.metadata import RawMetadataValue

from hashiramart_assets.checks.validation import sample_markdown
from hashiramart_assets.ingest.raw_tables import IngestOutcome

FAMILY_CHECKS = {"rules": "schema_and_ranges", "keys": "unique_keys", "references": "known_references"}
VOLUME_CHECK = "volume"


def raw_check_specs(key: dg.AssetKey, with_references: bool) -> list[dg.AssetCheckSpec]:
    descriptions = {
        "schema_and_ranges": "Pandera: columns, types, ranges, allowed values, timestamps inside the day",
        "unique_keys": "Pandera: primary key unique (duplicates after the first are quarantined)",
        "known_references": "Pandera: product_id and customer_id exist in raw/products and raw/customers",
        VOLUME_CHECK: "Not empty, and not far below the recent volume (a truncated file never reaches training)",
    }
    names = ["schema_and_ranges", "unique_keys", VOLUME_CHECK]
    if with_references:
        names.insert(2, "known_references")
    return [dg.AssetCheckSpec(n, asset=key, description=descriptions[n], blocking=True) for n in names]


def family_result(family: str, outcomes: list[IngestOutcome]) -> dg.AssetCheckResult:
    """One check over all files of the run: passes only if every file passed that rule family."""
    failing = [o for o in outcomes if not o.family_passed(family)]
    messages, samples = [], []
    failing_rows = 0
    for outcome in failing:
        if outcome.structural_errors:
            messages.append(f"{outcome.label}: " + "; ".join(outcome.structural_errors))
            failing_rows += outcome.input_rows
            continue
        verdict = outcome.verdicts[family]
        failing_rows += verdict.failing_rows
        messages.append(f"{outcome.label}: {verdict.message()}")
        samples.append(f"**{outcome.label}**\n\n{sample_markdown(verdict.sample)}")
    metadata: dict[str, RawMetadataValue] = {
        "files_checked": len(outcomes),
        "files_failed": len(failing),
        "failing_rows": failing_rows,
        "rows_checked": sum(o.input_rows for o in outcomes),
        "quarantined_rows_total": sum(o.quarantined_rows for o in outcomes),
    }
    if messages:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in messages[:20]))
    if samples:
        metadata["failing_rows_sample"] = dg.MetadataValue.md("\n\n".join(samples[:5]))
    quarantines = [o.quarantine_uri for o in failing if o.quarantine_uri]
    if quarantines:
        metadata["quarantine"] = dg.MetadataValue.md("\n".join(f"- `{q}`" for q in quarantines[:20]))
    return dg.AssetCheckResult(
        check_name=FAMILY_CHECKS[family],
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=messages[0] if messages else None,
    )


def volume_result(problems: dict[str, str | None], rows: dict[str, int]) -> dg.AssetCheckResult:
    """Fails if any file of the run is empty or far below the recent volume."""
    bad = {label: why for label, why in problems.items() if why}
    metadata: dict[str, RawMetadataValue] = {"rows_by_file": dg.MetadataValue.json(rows)}
    if bad:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {k}: {v}" for k, v in list(bad.items())[:20]))
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description="; ".join(f"{k}: {v}" for k, v in list(bad.items())[:3]) or None,
    )
