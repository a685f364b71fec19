"""MLflow through dagster-mlflow: one MLflow run per Dagster run, tagged with the Dagster run id.

dagster-mlflow's ``mlflow_tracking`` resource calls ``mlflow.set_experiment``, which would create the
experiment with artifacts in ``./mlruns`` of the current folder. This resource creates the experiment
first (artifacts under HASHIRAMART_HOME for the embedded SQLite store), then hands over to
dagster-mlflow's own ``MlFlow`` class, so runs, tags and parent-run handling are dagster-mlflow's.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import mlflow
from dagster_mlflow.resources import CONFIG_SCHEMA, MlFlow
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml.tracking import ensure_experiment
from hashiramart_assets.services import mlflow_ui
from hashiramart_assets.settings import Settings


@dg.resource(
    config_schema={
        **CONFIG_SCHEMA,
        "artifact_root": dg.Field(dg.Noneable(dg.StringSource), default_value=None, is_required=False),
    },
    description="dagster-mlflow tracking (SQLite store + local artifacts by default, MLflow server in production).",
)
def hashiramart_mlflow(init_context: dg.InitResourceContext) -> Iterator[MlFlow]:
    config = init_context.resource_config
    ensure_experiment(config["mlflow_tracking_uri"], config["experiment_name"], config.get("artifact_root"))
    try:
        yield MlFlow(init_context)
    finally:
        # dagster-mlflow opens its run when the resource starts; a step that fails before a model's child run
        # (bad config, missing input) would leave it active in the process, and the next Dagster run in the same
        # process (hashiramart materialize, tests) would log into it, or fail when it lives in another store.
        while mlflow.active_run() is not None:
            mlflow.end_run()


def mlflow_resource(settings: Settings) -> dg.ResourceDefinition:
    return hashiramart_mlflow.configured({
        "experiment_name": settings.mlflow_experiment,
        "mlflow_tracking_uri": settings.mlflow_tracking_uri,
        "artifact_root": settings.mlflow_artifact_root,
        "extra_tags": {"platform": "hashiramart"},
    })


class RegistryResource(dg.ConfigurableResource):
    """The model registry alone (no tracking run): for assets and the API that only read champions."""

    tracking_uri: str
    experiment: str
    artifact_root: str | None = None
    ui_url: str = "http://127.0.0.1:5000"  # the MLflow UI the links below open (HASHIRAMART_MLFLOW_UI_URL)

    def client(self) -> MlflowClient:
        """A client on the registry, with the process's tracking URI pointed at it (``models:/`` URIs)."""
        ensure_experiment(self.tracking_uri, self.experiment, self.artifact_root)
        return MlflowClient(self.tracking_uri)

    def run_link(self, run_id: str, artifact: str | None = None) -> dg.MetadataValue:
        """A link to a run (or one of its artifacts) in the MLflow UI, for an asset's metadata."""
        experiment_id = MlflowClient(self.tracking_uri).get_run(run_id).info.experiment_id
        if artifact:
            return dg.MetadataValue.url(mlflow_ui.artifact_url(self.ui_url, experiment_id, run_id, artifact))
        return dg.MetadataValue.url(mlflow_ui.run_url(self.ui_url, experiment_id, run_id))

    def version_link(self, name: str, version: str | int) -> dg.MetadataValue:
        return dg.MetadataValue.url(mlflow_ui.model_version_url(self.ui_url, name, version))


def registry_resource(settings: Settings) -> RegistryResource:
    return RegistryResource(tracking_uri=settings.mlflow_tracking_uri, experiment=settings.mlflow_experiment,
                            artifact_root=settings.mlflow_artifact_root, ui_url=settings.mlflow_ui_url)
