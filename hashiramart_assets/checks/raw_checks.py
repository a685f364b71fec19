"""Asset checks of the raw layer, built from the ingestion outcomes of the files in one run.

The checks are declared on the raw assets (``check_specs``) and evaluated inside the asset, on the very
rows it wrote; they are blocking, so an ERROR stops features and everything after them in that run.

Failures are scoped to the days they touch: in a run over many days, when at most
HASHIRAMART_MAX_REJECTED_DAY_SHARE of its trading days failed, those days are quarantined (rejected days
whole, bad rows of other days row by row), the checks fail with WARN severity (visible, not blocking) and
the good days flow on; the models then train without the rejected days and name them in their MLflow run.
Above that share, or when every trading day of the run failed (a one-day run with a bad day), the checks
fail as ERROR and block: the data is broken, not one day of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from hashiramart_assets.checks.validation import sample_markdown
from hashiramart_assets.compat import RawMetadataValue
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


def failed_days(outcomes: list[IngestOutcome], families: list[str]) -> list[IngestOutcome]:
    """Days that were rejected whole or had rows quarantined by a rule family."""
    return [o for o in outcomes if o.status == "rejected" or not all(o.family_passed(f) for f in families)]


def run_severity(outcomes: list[IngestOutcome], families: list[str], max_share: float) -> dg.AssetCheckSeverity:
    """WARN when the run's failures are scoped to a few days (the rest flows on), else ERROR (blocks)."""
    failed = failed_days(outcomes, families)
    trading = [o for o in outcomes if o.status != "closed"]
    if failed and len(failed) < len(trading) and len(failed) <= max_share * len(trading):
        return dg.AssetCheckSeverity.WARN
    return dg.AssetCheckSeverity.ERROR


def family_result(family: str, outcomes: list[IngestOutcome],
                  severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
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
        severity=severity,
        metadata=metadata,
        description=messages[0] if messages else None,
    )


def volume_result(
    problems: dict[str, str | None], rows: dict[str, int],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    compared: Mapping[str, object] | None = None,
) -> dg.AssetCheckResult:
    """Fails if a trading day of the run is missing, empty or far below its weekday's recent volume.

    ``compared``: per file, what it was compared against (calendar status, weekday, the same weekday's
    recent counts and their median, the ratio applied), so the UI shows why a day passed or failed.
    """
    bad = {label: why for label, why in problems.items() if why}
    metadata: dict[str, RawMetadataValue] = {"rows_by_file": dg.MetadataValue.json(rows)}
    if compared:
        metadata["compared_against"] = dg.MetadataValue.json(compared)
    if bad:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {k}: {v}" for k, v in list(bad.items())[:50]))
        metadata["failed_files"] = len(bad)
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=not bad,
        severity=severity,
        metadata=metadata,
        description="; ".join(f"{k}: {v}" for k, v in list(bad.items())[:3]) or None,
    )
