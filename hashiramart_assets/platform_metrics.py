"""Prometheus exporter of the platform's state: latest asset check results, monitoring values, champions.

Why a separate exporter and not the API's /metrics: the API reports what it serves; whether the data and
models are healthy is recorded in the Dagster instance (check evaluations, monitoring metadata) and in the
MLflow registry, which the API has no business reading on every scrape. Everything is read at scrape
time (a custom collector), so the exporter holds no state and a restart loses nothing.

Metrics (all gauges):
- ``hashiramart_asset_check_passed{asset,check,severity}``: 1 if the latest evaluation passed, 0 if it failed
- ``hashiramart_asset_last_materialization_timestamp_seconds{asset}``
- ``hashiramart_monitoring_value{asset,name}``: every numeric metadata value of the latest materialisation
  of a monitoring asset (drift ``share_drifted`` / ``max_psi``, recommender NDCG / CTR, forecast WAPE ...)
- ``hashiramart_feature_drift_share`` and ``hashiramart_feature_drift_max_psi``: the two drift headline values
- ``hashiramart_model_champion_version{model}`` and ``hashiramart_model_champion_metric{model,metric,version}``
- ``hashiramart_exporter_source_up{source}``: 1 if the Dagster instance / MLflow answered this scrape
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import dagster as dg
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hashiramart_assets import keys

log = logging.getLogger("hashiramart.platform_metrics")

MONITORING_GROUP = "monitoring"
DRIFT_KEY = keys.FEATURE_DRIFT


@dataclass(frozen=True)
class PlatformCatalogue:
    """What to report on: the check keys and asset keys of the code location (read once at start)."""

    check_keys: tuple[dg.AssetCheckKey, ...]
    asset_keys: tuple[dg.AssetKey, ...]
    monitoring_keys: tuple[dg.AssetKey, ...]


def catalogue_from_definitions(defs: dg.Definitions) -> PlatformCatalogue:
    graph = defs.resolve_asset_graph()
    monitoring = [key for key in graph.get_all_asset_keys() if key.path[0] == MONITORING_GROUP]
    return PlatformCatalogue(
        check_keys=tuple(sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))),
        asset_keys=tuple(sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())),
        monitoring_keys=tuple(sorted(monitoring, key=lambda k: k.to_user_string())),
    )


def _number(value: object) -> float | None:
    """A metadata value as a float, if it is a plain finite number (bools and text are skipped)."""
    raw = getattr(value, "value", value)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if math.isfinite(float(raw)) else None


class PlatformCollector(Collector):
    """Reads the Dagster instance and the MLflow registry at every scrape."""

    def __init__(
        self,
        instance_factory: Callable[[], dg.DagsterInstance],
        catalogue: PlatformCatalogue,
        tracking_uri: str | None,
        model_names: Sequence[str] = (),
    ) -> None:
        self._instance_factory = instance_factory
        self._instance: dg.DagsterInstance | None = None
        self.catalogue = catalogue
        self.tracking_uri = tracking_uri
        self.model_names = tuple(model_names)

    def _get_instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = self._instance_factory()
        return self._instance

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("hashiramart_exporter_source_up", "1 if the source answered this scrape",
                               labels=["source"])
        try:
            yield from self._dagster_metrics(self._get_instance())
            up.add_metric(["dagster"], 1.0)
        except Exception:  # a scrape must answer even when the instance's database is down
            log.exception("reading the Dagster instance failed")
            self._instance = None  # reconnect next time
            up.add_metric(["dagster"], 0.0)
        if self.tracking_uri and self.model_names:
            try:
                yield from self._model_metrics()
                up.add_metric(["mlflow"], 1.0)
            except Exception:
                log.exception("reading the MLflow registry failed")
                up.add_metric(["mlflow"], 0.0)
        yield up

    # -- Dagster ---------------------------------------------------------------------------------------------
    def _dagster_metrics(self, instance: dg.DagsterInstance) -> Iterator[GaugeMetricFamily]:
        checks = GaugeMetricFamily("hashiramart_asset_check_passed",
                                   "Latest evaluation of an asset check: 1 passed, 0 failed",
                                   labels=["asset", "check", "severity"])
        latest = {key: record for key in self.catalogue.check_keys
                  if (record := instance.get_latest_asset_check_evaluation_record(key))}
        for key, record in sorted(latest.items(), key=lambda kv: (kv[0].asset_key.to_user_string(), kv[0].name)):
            evaluation = record.evaluation
            if evaluation is None:  # planned or still running: no result yet
                continue
            checks.add_metric([key.asset_key.to_user_string(), key.name, evaluation.severity.value],
                              1.0 if evaluation.passed else 0.0)
        yield checks

        fresh = GaugeMetricFamily("hashiramart_asset_last_materialization_timestamp_seconds",
                                  "Unix time of the latest materialisation of an asset", labels=["asset"])
        events = instance.get_latest_materialization_events(self.catalogue.asset_keys)
        for asset_key in self.catalogue.asset_keys:
            event = events.get(asset_key)
            if event is not None:
                fresh.add_metric([asset_key.to_user_string()], float(event.timestamp))
        yield fresh

        values = GaugeMetricFamily("hashiramart_monitoring_value",
                                   "Numeric metadata of the latest materialisation of a monitoring asset",
                                   labels=["asset", "name"])
        drift_share = GaugeMetricFamily("hashiramart_feature_drift_share",
                                        "Share of drifted features in the latest monitoring/feature_drift")
        drift_psi = GaugeMetricFamily("hashiramart_feature_drift_max_psi",
                                      "Max PSI in the latest monitoring/feature_drift")
        for asset_key in self.catalogue.monitoring_keys:
            event = events.get(asset_key)
            materialization = event.asset_materialization if event is not None else None
            if materialization is None:
                continue
            for name, raw in sorted(materialization.metadata.items()):
                number = _number(raw)
                if number is None:
                    continue
                values.add_metric([asset_key.to_user_string(), name], number)
                if asset_key == DRIFT_KEY and name == "share_drifted":
                    drift_share.add_metric([], number)
                elif asset_key == DRIFT_KEY and name == "max_psi":
                    drift_psi.add_metric([], number)
        yield values
        yield drift_share
        yield drift_psi

    # -- MLflow ----------------------------------------------------------------------------------------------
    def _model_metrics(self) -> Iterator[GaugeMetricFamily]:
        from mlflow.tracking import MlflowClient

        from hashiramart_assets.ml import registry

        client = MlflowClient(self.tracking_uri)
        version_family = GaugeMetricFamily("hashiramart_model_champion_version",
                                           "Registry version behind the champion alias", labels=["model"])
        metric_family = GaugeMetricFamily("hashiramart_model_champion_metric",
                                          "Headline metric of the champion (NDCG@10, WAPE) from its MLflow run",
                                          labels=["model", "metric", "version"])
        for name in self.model_names:
            champion = registry.champion(client, name)
            if champion is None:
                continue
            version_family.add_metric([name], float(champion.version))
            metric = registry.HEADLINE_METRICS.get(name)
            if metric and champion.run_id:
                value = client.get_run(champion.run_id).data.metrics.get(metric)
                if value is not None:
                    metric_family.add_metric([name, metric, str(champion.version)], float(value))
        yield version_family
        yield metric_family


def build_registry(collector: PlatformCollector) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    return registry


def serve(collector: PlatformCollector, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics on host:port in a daemon thread; returns (server, thread) so callers can shut it down."""
    return start_http_server(port, addr=host, registry=build_registry(collector))


def collector_from_settings() -> PlatformCollector:
    """The exporter as ``hashiramart metrics-exporter`` runs it: the code location's checks, this instance."""
    from hashiramart_assets.definitions import build_definitions
    from hashiramart_assets.ml.registry import MODEL_NAMES
    from hashiramart_assets.runner import get_instance
    from hashiramart_assets.settings import load_settings

    settings = load_settings()
    catalogue = catalogue_from_definitions(build_definitions(settings))
    return PlatformCollector(lambda: get_instance(settings), catalogue, settings.mlflow_tracking_uri, MODEL_NAMES)
