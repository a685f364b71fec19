"""Read an experiment's figures and act on the verdict: promote or retire the challenger, end the experiment.

Used by the asset ``monitoring/experiment_results`` (which the ``conclude_experiments`` sensor runs)
and by the admin endpoint / CLI for reading. Every alias move is audited under the given actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.tracking import MlflowClient
from sqlalchemy.engine import Engine

from hashiramart_assets.app_schema import migrate
from hashiramart_assets.experiments import store
from hashiramart_assets.experiments.analysis import (
    PROMOTE,
    RETIRE,
    Analysis,
    OfflineComparison,
    Rules,
    analyse,
    shadow_summary,
    variant_counts,
)
from hashiramart_assets.experiments.audit import audited
from hashiramart_assets.ml import registry

HEADLINE = "ndcg_at_10"


def offline_comparison(client: MlflowClient, name: str, challenger_version: str) -> OfflineComparison | None:
    """The challenger's NDCG@10 against the champion's: on the challenger's own holdout when its run logged the
    champion refitted there (``champion_ndcg_at_10``), else the two versions' own training runs."""
    champion = registry.champion(client, name)
    try:
        candidate = client.get_model_version(name, str(challenger_version))
    except Exception:  # a version deleted from the registry: nothing to compare offline
        return None
    if candidate.run_id is None:
        return None
    metrics = client.get_run(candidate.run_id).data.metrics
    value = metrics.get(HEADLINE)
    if value is None:
        return None
    if f"champion_{HEADLINE}" in metrics:
        return OfflineComparison(value, metrics[f"champion_{HEADLINE}"],
                                 "champion refitted on the challenger's holdout")
    if champion is None or champion.run_id is None:
        return None
    reference = client.get_run(champion.run_id).data.metrics.get(HEADLINE)
    return None if reference is None else OfflineComparison(value, reference, "each version's own holdout")


def analyse_active(engine: Engine, client: MlflowClient, name: str, rules: Rules) -> Analysis | None:
    """The running experiment of ``name`` analysed now; None when there is none."""
    migrate(engine)
    with engine.connect() as conn:
        experiment = store.active_one(conn, name)
        if experiment is None:
            return None
        counts = variant_counts(conn, experiment.id)
        shadow = shadow_summary(conn, experiment.id) if experiment.shadow else (0, None)
    return analyse(experiment, counts, rules, offline_comparison(client, name, experiment.challenger_version), shadow)


@dataclass(frozen=True)
class Conclusion:
    acted: bool
    message: str


def act(engine: Engine, client: MlflowClient, analysis: Analysis, actor: str) -> Conclusion:
    """Carry out a promote / retire verdict (audited), end the experiment with the reason; else nothing."""
    experiment = analysis.experiment
    name, version = experiment.model_name, experiment.challenger_version
    if analysis.decision not in (PROMOTE, RETIRE):
        return Conclusion(False, analysis.reason)
    with audited(engine, actor):
        if analysis.decision == PROMOTE:
            registry.promote(client, name, version, f"online experiment {experiment.id}: {analysis.reason}")
            message = f"promoted v{version} to champion"
        else:
            current = registry.challenger(client, name)
            if current is not None and str(current.version) == version:
                registry.retire_challenger(client, name, f"online experiment {experiment.id}: {analysis.reason}")
            else:  # the alias already moved on (a newer challenger): only the version is marked
                client.set_model_version_tag(name, version, "retired_reason", analysis.reason)
            message = f"retired challenger v{version}"
    store.end(engine, experiment.id, actor, f"{message}: {analysis.reason}")
    return Conclusion(True, f"{message}: {analysis.reason}")
