"""The one Definitions object of the HashiraMart code location (assets, checks, resources, jobs)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from hashiramart_assets import automation
from hashiramart_assets.assets.experiments import EXPERIMENT_ASSETS
from hashiramart_assets.assets.features import FEATURE_ASSETS
from hashiramart_assets.assets.marts import build_dbt_assets, dbt_resource
from hashiramart_assets.assets.models import MODEL_ASSETS
from hashiramart_assets.assets.monitoring import MONITORING_ASSETS
from hashiramart_assets.assets.raw import RawPolicy, build_raw_assets
from hashiramart_assets.assets.warehouse import build_warehouse_assets
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.resources.mlflow import mlflow_resource, registry_resource
from hashiramart_assets.resources.postgres import postgres_resource
from hashiramart_assets.resources.spark import SparkResource
from hashiramart_assets.settings import Settings, load_settings
from hashiramart_assets.spark.session import spark_config


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "lake": LakeResource(root=settings.lake_uri, landing_dir=str(settings.landing_dir)),
        "spark": SparkResource(
            spark_config=spark_config(settings.spark_master, driver_host=settings.spark_driver_host),
            java_shim_dir=str(settings.home / "java"),
        ),
        "dbt": dbt_resource(),
        "postgres": postgres_resource(settings.postgres_url, settings.embedded_postgres_dir),
        "mlflow": mlflow_resource(settings),
        "model_registry": registry_resource(settings),
    }


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Daily partitions over the landed span: first landed day .. last landed day (or yesterday, live)."""
    end = None
    if settings.partitions_end:
        end = str(date.fromisoformat(settings.partitions_end) + timedelta(days=1))  # Dagster's end is exclusive
        if end <= settings.partitions_start:
            end = None
    return dg.DailyPartitionsDefinition(start_date=settings.partitions_start, end_date=end)


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions_def = daily_partitions(settings)
    assets = [
        *build_raw_assets(partitions_def, RawPolicy.from_settings(settings)),
        *FEATURE_ASSETS,
        *build_warehouse_assets(partitions_def),
        build_dbt_assets(partitions_def),
        *MODEL_ASSETS,
        *MONITORING_ASSETS,
        *EXPERIMENT_ASSETS,
    ]
    jobs = automation.build_jobs(partitions_def)
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=automation.build_sensors(jobs, partitions_def),
        resources=build_resources(settings),
        # One process per run, steps in order: a step process costs seconds of imports and each Spark step
        # its own JVM; on the few cores this runs on, parallel steps gained nothing (issue 14).
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
