"""monitoring/experiment_results: the running online experiment's figures and verdict, carried out (thin glue).

The ``conclude_experiments`` sensor (automation.py) materialises this asset while an experiment runs;
a materialisation analyses the API's impressions and attributed feedback (experiments/analysis.py) and,
on a verdict, promotes or retires the challenger and ends the experiment (experiments/conclude.py),
every alias move audited as this Dagster run. The figures are the metadata (exported to Prometheus by
the platform exporter), the verdict's reason is the check's description.
"""

# No `from __future__ import annotations`: Dagster reads Config / resource annotations at definition time.

import math

import dagster as dg

from hashiramart_assets import keys
from hashiramart_assets.experiments.analysis import NO_EXPERIMENT, RETIRE
from hashiramart_assets.experiments.conclude import act, analyse_active
from hashiramart_assets.ml import registry
from hashiramart_assets.resources.mlflow import RegistryResource
from hashiramart_assets.resources.postgres import PostgresResource
from hashiramart_assets.settings import load_settings

CHECK = "challenger_not_worse"


class ExperimentResultsConfig(dg.Config):
    act: bool = True  # carry out a promote / retire verdict (False: report only)


def _metadata_value(value: float | int | str | bool | None) -> float | int | str | bool:
    """Metadata without None (Dagster rejects it) and with NaN for a rate that has no denominator yet."""
    return float("nan") if value is None else value


@dg.asset(
    key=keys.EXPERIMENT_RESULTS,
    group_name="monitoring",
    deps=[keys.RECOMMENDER],
    check_specs=[dg.AssetCheckSpec(CHECK, asset=keys.EXPERIMENT_RESULTS,
                                   description="Warns when the challenger's CTR is significantly below the champion's "
                                               "(it is then retired).")],
    kinds={"python", "postgres"},
    description="The recommender's online experiment: impressions, clicks, CTR and purchases per impression per "
                "variant, a two-proportion test and the verdict (promote / retire / continue), carried out.",
)
def experiment_results(
    context: dg.AssetExecutionContext, config: ExperimentResultsConfig, postgres: PostgresResource,
    model_registry: RegistryResource,
) -> dg.MaterializeResult:
    engine, client = postgres.get_engine(), model_registry.client()
    analysis = analyse_active(engine, client, registry.RECOMMENDER, load_settings().experiment_rules())
    if analysis is None:
        reason = f"no experiment of {registry.RECOMMENDER} is running"
        return dg.MaterializeResult(
            metadata={"model": registry.RECOMMENDER, "decision": NO_EXPERIMENT, "reason": reason},
            check_results=[dg.AssetCheckResult(check_name=CHECK, passed=True, description=reason)],
        )
    outcome = "report only (act=False)"
    if config.act:
        outcome = act(engine, client, analysis, f"dagster:{context.run_id} {keys.EXPERIMENT_RESULTS.to_user_string()}"
                      ).message
    context.log.info("experiment %s: %s -> %s", analysis.experiment.id, analysis.decision, outcome)
    metadata: dict[str, float | int | str | bool] = {k: _metadata_value(v) for k, v in analysis.as_dict().items()}
    metadata["outcome"] = outcome
    p_value = analysis.p_value
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[dg.AssetCheckResult(
            check_name=CHECK, passed=analysis.decision != RETIRE, severity=dg.AssetCheckSeverity.WARN,
            description=analysis.reason[:1000],
            metadata={"p_value": p_value if p_value is not None and math.isfinite(p_value) else float("nan")},
        )],
    )


EXPERIMENT_ASSETS = [experiment_results]
