"""Prometheus metrics: per-route request counts and latency, model versions and reload counts, and per
experiment variant: answers, impressions, attributed feedback, rejected feedback, the challenger's share.

Why a raw ASGI middleware: Starlette's BaseHTTPMiddleware adds a task and a stream per request, which
costs a noticeable share of a sub-millisecond endpoint. Why a registry per app: tests build several
apps in one process and the global registry would refuse duplicate metric names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hashiramart_assets.ml import registry

if TYPE_CHECKING:
    from serving.experiments import Experiments
    from serving.impressions import ImpressionLog
    from serving.model_store import ModelStore

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ModelCollector(Collector):
    """Model version info and reload counters, read from the store at scrape time."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        info = GaugeMetricFamily("hashiramart_model_info", "Model version being served (value 1)",
                                 labels=["model", "version", "run_id"])
        for name, handle in ((registry.RECOMMENDER, self.store.recommender),
                             (registry.FORECASTER, self.store.forecaster)):
            if handle is not None:
                info.add_metric([name, handle.version, handle.run_id], 1.0)
        yield info
        reloads = CounterMetricFamily("hashiramart_model_reloads", "Model loads by outcome",
                                      labels=["model", "outcome"])
        registry_ok = GaugeMetricFamily("hashiramart_model_registry_reachable",
                                        "1 if the last registry check of this model succeeded", labels=["model"])
        for name, status in self.store.status.items():
            for outcome, count in status.reloads.items():
                reloads.add_metric([name, outcome], float(count))
            registry_ok.add_metric([name], 1.0 if status.last_check_ok else 0.0)
        yield reloads
        yield registry_ok


class ExperimentCollector(Collector):
    """The running experiment's share and the impression writer's backlog, read at scrape time."""

    def __init__(self, experiments: Experiments, impressions: ImpressionLog) -> None:
        self.experiments = experiments
        self.impressions = impressions

    def collect(self) -> Iterator[Any]:
        share = GaugeMetricFamily("hashiramart_experiment_challenger_share",
                                  "Share of customers (split) or requests (shadow) given to the challenger",
                                  labels=["model", "experiment_id", "mode"])
        live = self.experiments.current
        if live is not None:
            share.add_metric([self.experiments.model_name, str(live.id), live.experiment.mode], live.share)
        yield share
        pending = GaugeMetricFamily("hashiramart_impressions_pending", "Impressions not yet written to Postgres")
        pending.add_metric([], float(self.impressions.pending))
        yield pending
        dropped = CounterMetricFamily("hashiramart_impressions_dropped", "Impressions dropped (backlog full)")
        dropped.add_metric([], float(self.impressions.dropped))
        yield dropped


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("hashiramart_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("hashiramart_http_request_duration_seconds", "HTTP request latency by route",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.served = Counter("hashiramart_recommendations_served", "Recommendation answers by variant and version",
                              ["model", "variant", "model_version"], registry=self.registry)
        self.impressions = Counter("hashiramart_impressions", "Items shown (one per item of an answer) by variant",
                                   ["model", "variant"], registry=self.registry)
        self.feedback = Counter("hashiramart_feedback", "Clicks and purchases attributed to a recorded impression",
                                ["model", "variant", "event"], registry=self.registry)
        self.feedback_rejected = Counter("hashiramart_feedback_rejected",
                                         "Feedback rejected: it matched no impression the API recorded",
                                         ["reason"], registry=self.registry)
        self.shadow_scored = Counter("hashiramart_shadow_scored", "Requests also scored by a shadow challenger",
                                     ["model"], registry=self.registry)
        self._served_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def watch_models(self, store: ModelStore) -> None:
        self.registry.register(ModelCollector(store))

    def watch_experiments(self, experiments: Experiments, impressions: ImpressionLog) -> None:
        self.registry.register(ExperimentCollector(experiments, impressions))

    def count_answer(self, model: str, variant: str, version: str, items: int) -> None:
        """On the request path: the label children are cached (a labels() lookup costs more than the increment)."""
        key = (model, variant, version)
        children = self._served_children.get(key)
        if children is None:
            children = (self.served.labels(*key), self.impressions.labels(model, variant))
            self._served_children[key] = children
        children[0].inc()
        children[1].inc(items)


class MetricsMiddleware:
    """Times every HTTP request and labels it with its route template (``/products/{product_id}``)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_holder = [500]

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            key = (scope["method"], template, str(status_holder[0]))
            children = self._children.get(key)
            if children is None:  # label lookups cost more than the observation: cache the children
                children = (self.metrics.requests.labels(*key), self.metrics.latency.labels(key[0], key[1]))
                self._children[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - start)
