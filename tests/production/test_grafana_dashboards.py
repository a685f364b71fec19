"""The Grafana dashboard and the Prometheus alerting rules against the metrics the code really exports.

The metric catalogue comes from the exporters themselves: serving/metrics.py's registry and
hashiramart_assets/platform_metrics.py's collector are fed one fake sample of everything and collected, which
gives every series name and its labels. Each PromQL expression (dashboard targets and annotations, alert
rules) is then checked with a small PromQL scanner: every metric exists, every label matcher and grouping label
exists on its metric, the model / headline metric / asset / route / experiment variant, event and rejection reason
values exist, and a metric labelled by model version is aggregated without that label (so its line does not break
at each promotion). The experiment analysis' names (monitoring/experiment_results) are the ones the exporter gives
for the metadata the asset really records (an analysis run through the platform collector). Where promtool is
installed (Debian's prometheus package, or PROMTOOL=/path), the rules and the configuration also go through
`promtool check config` and `promtool test rules`, the dashboards' promotion-proof queries included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.production.conftest import REPO

if TYPE_CHECKING:
    from hashiramart_assets.experiments.analysis import Analysis

DASHBOARDS = sorted((REPO / "docker/grafana/dashboards").glob("*.json"))
DASHBOARD = REPO / "docker/grafana/dashboards/hashiramart.json"
PROMETHEUS = REPO / "docker/prometheus.yml"
ALERTS = REPO / "docker/prometheus-alerts.yml"
DATASOURCES = REPO / "docker/grafana/provisioning/datasources/prometheus.yml"
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
# Series Prometheus makes itself: `up` per scrape target, `ALERTS` per pending/firing alert (labels: the rule's).
BUILTIN_SERIES: dict[str, set[str] | None] = {"up": set(TARGET_LABELS), "ALERTS": None}
VERSION_LABELS = {"version", "run_id", "model_version"}  # change at every promotion
SEVERITIES = {"warning", "critical"}
DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "inf", "nan", "atan2"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Aggregations whose result carries only the grouping labels (topk/bottomk/count_values keep or add labels).
DROPPING_AGGREGATIONS = {"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "quantile"}


# ----- the metric catalogue, from the exporters ---------------------------------------------------------------

def _series_names(family) -> set[str]:
    """The series a family exposes (a counter ``x`` is ``x_total``; a histogram ``x_bucket/_count/_sum``)."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created"), "info": ("_info",)}.get(family.type, ("",))
    return {family.name + suffix for suffix in suffixes}


def _collect(registry) -> dict[str, set[str]]:
    series: dict[str, set[str]] = {}
    for family in registry.collect():
        for name in _series_names(family):
            series.setdefault(name, set())
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def _api_series() -> dict[str, set[str]]:
    from hashiramart_assets.ml import registry
    from serving.metrics import Metrics

    metrics = Metrics()
    handle = SimpleNamespace(version="3", run_id="run-3")
    status = SimpleNamespace(reloads={"success": 1, "failure": 1}, last_check_ok=True)
    metrics.watch_models(SimpleNamespace(recommender=handle, forecaster=handle,
                                         status={name: status for name in registry.MODEL_NAMES}))
    metrics.requests.labels("POST", "/recommend", "200").inc()
    metrics.latency.labels("POST", "/recommend").observe(0.002)
    # the experiment's series: an answer and its impressions, accepted and rejected feedback, a shadow score, a share
    metrics.count_answer(registry.RECOMMENDER, "challenger", "4", 10)
    metrics.feedback.labels(registry.RECOMMENDER, "challenger", "click").inc()
    metrics.feedback_rejected.labels("not_shown").inc()
    metrics.shadow_scored.labels(registry.RECOMMENDER).inc()
    live = SimpleNamespace(id=1, share=0.5, experiment=SimpleNamespace(mode="split"))
    metrics.watch_experiments(SimpleNamespace(model_name=registry.RECOMMENDER, current=live),
                              SimpleNamespace(pending=0, dropped=0))
    return _collect(metrics.registry)


class _FakeInstance:
    """What PlatformCollector reads from a Dagster instance: one passed check and one materialisation per asset."""

    def __init__(self, catalogue, metadata: dict) -> None:
        import dagster as dg

        self.metadata = metadata
        evaluation = SimpleNamespace(severity=dg.AssetCheckSeverity.ERROR, passed=True)
        self.latest = {key: SimpleNamespace(evaluation=evaluation) for key in catalogue.check_keys}

    def get_latest_asset_check_evaluation_record(self, key):
        return self.latest.get(key)

    def get_latest_materialization_events(self, keys):
        return {key: SimpleNamespace(timestamp=1_700_000_000.0,
                                     asset_materialization=SimpleNamespace(metadata=self.metadata))
                for key in keys}


def _platform_series(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    import dagster as dg
    import mlflow.tracking

    from hashiramart_assets.ml import registry
    from hashiramart_assets.platform_metrics import (
        DRIFT_KEY,
        PlatformCatalogue,
        PlatformCollector,
        build_registry,
    )

    catalogue = PlatformCatalogue(check_keys=(dg.AssetCheckKey(dg.AssetKey(["raw", "orders"]), "volume"),),
                                  asset_keys=(DRIFT_KEY, dg.AssetKey(["raw", "orders"])), monitoring_keys=(DRIFT_KEY,))
    metadata = {"share_drifted": 0.25, "max_psi": 0.3, "ndcg_at_10": 0.1}

    class FakeClient:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def get_run(self, run_id):
            return SimpleNamespace(data=SimpleNamespace(metrics=dict.fromkeys(registry.HEADLINE_METRICS.values(), 0.1)))

    monkeypatch.setattr(mlflow.tracking, "MlflowClient", FakeClient)
    monkeypatch.setattr(registry, "champion", lambda client, name: SimpleNamespace(version="3", run_id="run-3"))
    collector = PlatformCollector(lambda: _FakeInstance(catalogue, metadata), catalogue, "http://registry.invalid",
                                  registry.MODEL_NAMES)
    series = _collect(build_registry(collector))
    # The fakes must still satisfy the exporter: a source it could not read would hide its metrics here.
    up = [s for family in build_registry(collector).collect() for s in family.samples
          if s.name == "hashiramart_exporter_source_up"]
    assert {s.labels["source"]: s.value for s in up} == {"dagster": 1.0, "mlflow": 1.0}, (
        "the fake Dagster instance / MLflow client no longer satisfies PlatformCollector: update the fakes")
    return series


@pytest.fixture(scope="module")
def exported() -> Iterator[dict[str, set[str] | None]]:
    """Series name -> label names, of everything Prometheus scrapes from the API and the platform exporter."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        api, platform = _api_series(), _platform_series(monkeypatch)
    assert not set(api) & set(platform), "the API and the exporter export the same series"
    yield {**BUILTIN_SERIES, **api, **platform}


def test_the_catalogue_knows_the_exporters_metrics(exported):
    """The catalogue the checks below rely on: a sanity check of the import-based collection."""
    assert exported["hashiramart_http_requests_total"] == {"method", "route", "status"}
    assert exported["hashiramart_http_request_duration_seconds_bucket"] == {"method", "route", "le"}
    assert exported["hashiramart_model_reloads_total"] == {"model", "outcome"}
    assert exported["hashiramart_model_info"] == {"model", "version", "run_id"}
    assert exported["hashiramart_model_champion_metric"] == {"model", "metric", "version"}
    assert exported["hashiramart_asset_last_materialization_timestamp_seconds"] == {"asset"}
    assert exported["hashiramart_exporter_source_up"] == {"source"}
    assert exported["hashiramart_recommendations_served_total"] == {"model", "variant", "model_version"}
    assert exported["hashiramart_impressions_total"] == {"model", "variant"}
    assert exported["hashiramart_feedback_total"] == {"model", "variant", "event"}
    assert exported["hashiramart_feedback_rejected_total"] == {"reason"}
    assert exported["hashiramart_experiment_challenger_share"] == {"model", "experiment_id", "mode"}
    assert exported["hashiramart_shadow_scored_total"] == {"model"}


# ----- the experiment analysis, as the exporter gives it ------------------------------------------------------

def _experiment_analyses() -> Iterator[Analysis]:
    """A split experiment with a verdict's worth of figures, and a shadow one (its extra figures)."""
    from datetime import UTC, datetime

    from hashiramart_assets.experiments.analysis import OfflineComparison, Rules, VariantCounts, analyse
    from hashiramart_assets.experiments.assignment import CHALLENGER, CHAMPION
    from hashiramart_assets.experiments.store import Experiment
    from hashiramart_assets.ml import registry

    now = datetime(2026, 1, 1, tzinfo=UTC)
    counts = {CHAMPION: VariantCounts(20_000, 1_000, 120), CHALLENGER: VariantCounts(20_000, 1_200, 150)}
    for shadow in (False, True):
        experiment = Experiment(1, registry.RECOMMENDER, "3", "4", 0.5, shadow, now, "admin", now)
        yield analyse(experiment, counts, Rules(), OfflineComparison(0.31, 0.30, "test"), shadow=(100, 0.4))


@pytest.fixture(scope="module")
def experiment_values() -> dict[str, dict[str, float]]:
    """Mode -> the hashiramart_monitoring_value names and values the exporter gives for monitoring/experiment_results,
    from the metadata the asset records (its own conversion of the analysis)."""
    from hashiramart_assets import keys
    from hashiramart_assets.assets.experiments import _metadata_value
    from hashiramart_assets.platform_metrics import MONITORING_GROUP, PlatformCatalogue, PlatformCollector

    # the exporter's catalogue takes every asset under monitoring/ (catalogue_from_definitions)
    assert keys.EXPERIMENT_RESULTS.path[0] == MONITORING_GROUP
    catalogue = PlatformCatalogue(check_keys=(), asset_keys=(keys.EXPERIMENT_RESULTS,),
                                  monitoring_keys=(keys.EXPERIMENT_RESULTS,))
    found = {}
    for analysis in _experiment_analyses():
        metadata = {k: _metadata_value(v) for k, v in analysis.as_dict().items()}
        collector = PlatformCollector(lambda metadata=metadata: _FakeInstance(catalogue, metadata), catalogue, None)
        samples = [s for family in collector.collect() for s in family.samples
                   if s.name == "hashiramart_monitoring_value"]
        assert {s.labels["asset"] for s in samples} == {"monitoring/experiment_results"}
        found[analysis.experiment.mode] = {s.labels["name"]: s.value for s in samples}
    return found


def test_the_exporter_gives_the_experiment_analysis(experiment_values):
    """The figures the dashboard's experiment panels read: numbers only (text and missing rates are left out)."""
    split = experiment_values["split"]
    assert split["champion_ctr"] == pytest.approx(0.05) and split["challenger_ctr"] == pytest.approx(0.06)
    assert split["ctr_difference"] == pytest.approx(0.01)
    assert split["ctr_difference_ci_low"] < split["ctr_difference"] < split["ctr_difference_ci_high"]
    assert 0 <= split["p_value"] < 0.05
    assert split["champion_impressions"] == split["challenger_impressions"] == 20_000 and split["min_sample_size"] >= 1
    assert not {"model", "decision", "reason", "mode", "champion_version", "challenger_version"} & set(split)
    # a shadow experiment reports its shadow figures, and no test: p_value has no value, so no series
    assert {"shadow_requests", "shadow_overlap"} <= set(experiment_values["shadow"]) and "p_value" not in \
        experiment_values["shadow"]


# ----- the value catalogues (models, headline metrics, assets, routes, monitoring names) ----------------------

def _known_values() -> dict[str, set[str]]:
    from typing import get_args

    from hashiramart_assets.experiments.store import Experiment
    from hashiramart_assets.ml import registry
    from serving.routers import admin, feedback, forecasts, ops, products, recommendations, users
    from serving.schemas import FeedbackIn, Variant

    assets = set()
    for path in (REPO / "hashiramart_assets").rglob("*.py"):
        assets |= {f"{a}/{b}" for a, b in re.findall(r'AssetKey\(\[\s*"(\w+)",\s*"(\w+)"\s*\]\)', path.read_text())}
    assets |= {f"{p.parent.name}/{p.stem}" for p in (REPO / "dbt_project/models").glob("*/*.sql")}
    routes = {route.path for module in (users, products, recommendations, forecasts, feedback, ops, admin)
              for route in module.router.routes} | {"unmatched"}
    return {"model": set(registry.MODEL_NAMES), "metric": set(registry.HEADLINE_METRICS.values()),
            "asset": assets, "route": routes, "outcome": {"success", "failure"}, "source": {"dagster", "mlflow"},
            "severity": {"ERROR", "WARN"}, "variant": set(get_args(Variant)),
            # a client-sent impression is rejected (reason impression_from_client): never an accepted event
            "event": set(get_args(FeedbackIn.model_fields["event"].annotation)) - {"impression"},
            "reason": set(feedback._REJECTIONS),
            "mode": {Experiment.mode.fget(SimpleNamespace(shadow=shadow)) for shadow in (False, True)}}


def _monitoring_source() -> str:
    return "\n".join(p.read_text() for p in [REPO / "hashiramart_assets/assets/monitoring.py",
                                              *(REPO / "hashiramart_assets/monitoring").glob("*.py")])


@pytest.fixture(scope="module")
def known_values(experiment_values) -> dict[str, set[str]]:
    # hashiramart_monitoring_value names of an asset whose metadata names the code builds (f"{variant}_ctr"):
    # the ones the exporter really gives, in any mode; other assets' names are looked up in the monitoring source
    return {**_known_values(), "name@monitoring/experiment_results": set().union(*experiment_values.values())}


# ----- a small PromQL scanner ---------------------------------------------------------------------------------

@dataclass
class Selector:
    metric: str | None
    matchers: list[tuple[str, str, str]]
    position: int


@dataclass
class Aggregation:
    op: str
    start: int  # the argument's parentheses
    end: int
    grouping: tuple[str, set[str]] | None = None  # ("by" | "without", labels), None: every label dropped


@dataclass
class Scan:
    expr: str
    selectors: list[Selector] = field(default_factory=list)
    grouping_labels: set[str] = field(default_factory=set)
    aggregations: list[Aggregation] = field(default_factory=list)
    added_labels: set[str] = field(default_factory=set)

    @property
    def metrics(self) -> set[str]:
        return {s.metric for s in self.selectors if s.metric}

    def drops_labels(self, selector: Selector, labels: set[str]) -> bool:
        """Whether an aggregation around the selector removes all of ``labels`` from its result."""
        for agg in self.aggregations:
            if not agg.start < selector.position < agg.end:
                continue
            if agg.grouping is None or (agg.grouping[0] == "by" and not labels & agg.grouping[1]) or (
                    agg.grouping[0] == "without" and labels <= agg.grouping[1]):
                return True
        return False


STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r'\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}')
MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(ms|[smhdwy])?")
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
LABEL_LIST = re.compile(r"\s*\(([^)]*)\)")
RANGE = re.compile(r"\[[^\]]*\]")


def _matching_paren(expr: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(expr):
        string = STRING.match(expr, i)
        if string:
            i = string.end()
            continue
        if expr[i] == "(":
            depth += 1
        elif expr[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AssertionError(f"unbalanced parentheses in {expr!r}")


def _labels(text: str) -> set[str]:
    return {label.strip() for label in text.split(",") if label.strip()}


def scan(expr: str) -> Scan:
    result = Scan(expr)
    bare = STRING.sub('""', expr)
    assert bare.count("(") == bare.count(")") and bare.count("{") == bare.count("}"), f"unbalanced: {expr!r}"
    result.added_labels = set(re.findall(r'label_replace\(.*?,\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*"\w*"\s*,\s*"[^"]*"\s*\)',
                                         expr, re.S))
    pending: tuple[str, tuple[str, set[str]] | None] | None = None
    i = 0
    while i < len(expr):
        char = expr[i]
        if char.isspace():
            i += 1
            continue
        if STRING.match(expr, i):
            i = STRING.match(expr, i).end()
            continue
        if char == "[":
            i = RANGE.match(expr, i).end()
            continue
        if char == "{":  # a selector without a metric name
            block = MATCHERS.match(expr, i)
            result.selectors.append(Selector(None, _parse_matchers(block.group(1), expr), i))
            i = block.end()
            continue
        number = NUMBER.match(expr, i)
        if number and (char.isdigit() or char == "."):
            i = number.end()
            continue
        ident = IDENT.match(expr, i)
        if not ident:
            if char == "(" and pending is not None:
                end = _matching_paren(expr, i)
                result.aggregations.append(Aggregation(pending[0], i, end, pending[1]))
                pending = None
            i += 1
            continue
        word, i = ident.group(), ident.end()
        rest = expr[i:].lstrip()
        if word in GROUPING:
            labels = LABEL_LIST.match(expr, i)
            assert labels, f"{word} without a label list in {expr!r}"
            result.grouping_labels |= _labels(labels.group(1))
            if pending is not None and word in ("by", "without"):
                pending = (pending[0], (word, _labels(labels.group(1))))
            elif word in ("by", "without"):  # sum (...) by (...): the suffix form
                for agg in result.aggregations:
                    if expr[agg.end + 1:ident.start()].strip() == "":
                        agg.grouping = (word, _labels(labels.group(1)))
            i = labels.end()
        elif word.lower() in KEYWORDS:
            continue
        elif rest.startswith("("):  # a function or an aggregation
            if word in DROPPING_AGGREGATIONS:
                pending = (word, None)
        elif word in DROPPING_AGGREGATIONS and re.match(r"(by|without)\b", rest):
            pending = (word, None)
        else:
            block = MATCHERS.match(expr, i + len(expr[i:]) - len(rest))
            matchers = _parse_matchers(block.group(1), expr) if block else []
            result.selectors.append(Selector(word, matchers, ident.start()))
            if block:
                i = block.end()
    return result


def _parse_matchers(text: str, expr: str) -> list[tuple[str, str, str]]:
    found, i = [], 0
    while i < len(text):
        matcher = MATCHER.match(text, i)
        assert matcher, f"cannot read the label matchers {{{text}}} of {expr!r}"
        found.append((matcher.group(1), matcher.group(2), matcher.group(3)))
        i = matcher.end()
    return found


def test_the_promql_scanner():
    """The scanner on the shapes the dashboard and the rules use."""
    s = scan('max without (version) (x{a="1", b=~"p|q"}) / on (a) sum(rate(y_total[5m])) by (le) > 1e-9 '
             'and z offset 5m')
    assert [sel.metric for sel in s.selectors] == ["x", "y_total", "z"]
    assert s.selectors[0].matchers == [("a", "=", "1"), ("b", "=~", "p|q")]
    assert s.grouping_labels == {"version", "a", "le"}
    assert s.drops_labels(s.selectors[0], {"version"}) and not s.drops_labels(s.selectors[2], {"version"})
    assert s.drops_labels(s.selectors[1], {"version"})  # the suffix form's `by (le)`
    assert not scan("sum by (model, version) (x)").drops_labels(scan("sum by (model, version) (x)").selectors[0],
                                                               {"version"})
    assert scan('label_replace(up == 1, "model", "m", "", "")').added_labels == {"model"}
    assert scan('histogram_quantile(0.95, sum by (le) (rate(h_bucket{route="/x"}[5m])))').metrics == {"h_bucket"}


# ----- the checks, shared by the dashboard and the rules ------------------------------------------------------

def check_expr(expr: str, where: str, exported: dict, known: dict[str, set[str]], monitoring_source: str,
               version_must_be_aggregated: bool) -> Scan:
    s = scan(expr)
    assert s.selectors, f"{where}: {expr!r} selects no metric"
    for selector in s.selectors:
        assert selector.metric in exported, f"{where}: {selector.metric!r} is exported by nothing ({expr!r})"
        labels = exported[selector.metric]
        if labels is None:
            continue
        for label, op, value in selector.matchers:
            assert label in labels | TARGET_LABELS | {"__name__"}, f"{where}: {selector.metric} has no label {label!r}"
            if op in ("=~", "!~"):
                re.compile(value)
            values = [value] if op in ("=", "!=") else (value.split("|") if re.fullmatch(r"[\w/{}.-]+(\|[\w/{}.-]+)*",
                                                                                          value) else [])
            for literal in values:
                if label in known:
                    assert literal in known[label], f"{where}: no {label} {literal!r} (known: {sorted(known[label])})"
                if label == "name" and selector.metric == "hashiramart_monitoring_value":
                    asset = next((v for lab, o, v in selector.matchers if lab == "asset" and o == "="), None)
                    names = known.get(f"name@{asset}")
                    found = literal in names if names is not None else re.search(rf"\b{literal}\b", monitoring_source)
                    assert found, f"{where}: no monitoring value {literal!r}"
                if label == "le":
                    from serving.metrics import BUCKETS
                    assert float(literal) in BUCKETS, f"{where}: {literal} is not a bucket boundary"
        if version_must_be_aggregated and labels & VERSION_LABELS:
            assert s.drops_labels(selector, labels & VERSION_LABELS), (
                f"{where}: {selector.metric} is labelled by {sorted(labels & VERSION_LABELS)}, which changes at every "
                f"promotion: aggregate it away (`max without (version) (...)`, `max by (model) (...)`) in {expr!r}")
    if all(exported[m] is not None for m in s.metrics):
        available = set().union(*(exported[m] for m in s.metrics)) | TARGET_LABELS | s.added_labels
        assert s.grouping_labels <= available, f"{where}: grouping by {s.grouping_labels - available} in {expr!r}"
    return s


def _targets(dashboard: dict) -> Iterator[tuple[dict, dict]]:
    for panel in dashboard["panels"]:
        for nested in [panel, *panel.get("panels", [])]:
            for target in nested.get("targets", []):
                yield nested, target


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


# ----- the dashboard ------------------------------------------------------------------------------------------

def test_dashboard_queries_only_exported_metrics_and_labels(dashboards, exported, known_values):
    source = _monitoring_source()
    checked = 0
    for name, dashboard in dashboards.items():
        for panel, target in _targets(dashboard):
            where = f"{name} panel {panel['id']} {panel['title']!r} target {target['refId']}"
            # An instant query (a table of what is served now) may show the version; a line over time may not.
            check_expr(target["expr"], where, exported, known_values, source,
                       version_must_be_aggregated=not target.get("instant", False))
            checked += 1
        for annotation in dashboard.get("annotations", {}).get("list", []):
            if "expr" in annotation:  # annotations mark the promotions: the version is their point
                check_expr(annotation["expr"], f"{name} annotation {annotation['name']!r}", exported, known_values,
                           source, version_must_be_aggregated=False)
    assert checked >= 20


def test_dashboard_structure(dashboards):
    datasource_uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    for name, dashboard in dashboards.items():
        assert dashboard["uid"] and dashboard["title"]
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, f"{name}: panel {panel['id']} is wider than the grid"
            area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                    for y in range(grid["y"], grid["y"] + grid["h"])}
            assert not area & cells, f"{name}: panel {panel['id']} {panel['title']!r} overlaps another panel"
            cells |= area
            if panel["type"] != "row":
                assert panel.get("targets"), f"{name}: panel {panel['id']} has no query"
        for panel, target in _targets(dashboard):
            assert target["datasource"]["uid"] == datasource_uid == panel["datasource"]["uid"]
            assert target["refId"]
        for annotation in dashboard.get("annotations", {}).get("list", []):
            if "expr" in annotation:
                assert annotation["datasource"]["uid"] == datasource_uid


def _panels_mentioning(dashboard: dict, pattern: str) -> set[int]:
    return {panel["id"] for panel, target in _targets(dashboard) if re.search(pattern, target["expr"])}


def test_ndcg_and_wape_are_on_separate_panels(dashboards):
    dashboard = dashboards[DASHBOARD.name]
    ndcg, wape = _panels_mentioning(dashboard, r"ndcg"), _panels_mentioning(dashboard, r"wape")
    assert ndcg and wape and not ndcg & wape, (ndcg, wape)
    by_id = {panel["id"]: panel for panel in dashboard["panels"]}
    for panel_id in ndcg | wape:
        assert by_id[panel_id]["type"] == "timeseries"
    # the champion's metric, the live monitoring value and the alert line, on each
    for ids, metric in ((ndcg, "ndcg_at_10"), (wape, "wape")):
        exprs = " ".join(t["expr"] for panel, t in _targets(dashboard) if panel["id"] in ids)
        assert f'metric="{metric}"' in exprs and "hashiramart_monitoring_value" in exprs


def test_dashboard_covers_serving_models_and_data(dashboards):
    """The panels the operators asked for: each one's query, by the metric it must use."""
    dashboard = dashboards[DASHBOARD.name]
    wanted = {
        "request rate": r"rate\(hashiramart_http_requests_total\[",
        "latency p95": r"histogram_quantile\(0\.95,.*hashiramart_http_request_duration_seconds_bucket",
        "4xx": r'hashiramart_http_requests_total\{status=~"4\.\."',
        "5xx": r'hashiramart_http_requests_total\{status=~"5\.\."',
        "freshness": r"time\(\) - .*hashiramart_asset_last_materialization_timestamp_seconds",
        "model reloads": r"hashiramart_model_reloads_total",
        "registry reachability": r"hashiramart_model_registry_reachable",
        "champion version": r"hashiramart_model_champion_version",
        "served version": r"^hashiramart_model_info$",
        "failing checks": r"hashiramart_asset_check_passed",
        "firing alerts": r"^ALERTS\{",
    }
    for what, pattern in wanted.items():
        assert _panels_mentioning(dashboard, pattern), f"no panel for {what} ({pattern})"
    four, five = _panels_mentioning(dashboard, wanted["4xx"]), _panels_mentioning(dashboard, wanted["5xx"])
    assert four - five and five - four, "4xx and 5xx need panels of their own"


def test_dashboard_covers_the_online_experiment(dashboards):
    """The experiment row: live per-variant figures from the API, the analysis from the platform exporter."""
    dashboard = dashboards[DASHBOARD.name]
    per_variant = r"sum by \((model, )?variant\) \("
    wanted = {
        "CTR per variant": rf'{per_variant}rate\(hashiramart_feedback_total\{{[^}}]*event="click"[\s\S]*/\s*'
                           rf"{per_variant}rate\(hashiramart_impressions_total",
        "purchases per impression per variant": rf'{per_variant}rate\(hashiramart_feedback_total\{{[^}}]*'
                                                rf'event="purchase"[\s\S]*/\s*{per_variant}rate\('
                                                r"hashiramart_impressions_total",
        "answers per variant": rf"{per_variant}rate\(hashiramart_recommendations_served_total",
        "rejected feedback by reason": r"sum by \(reason\) \(increase\(hashiramart_feedback_rejected_total",
        "challenger share": r"hashiramart_experiment_challenger_share",
        "analysis CTRs": r'asset="monitoring/experiment_results",name=~"champion_ctr\|challenger_ctr"',
        "analysis CTR difference and its interval": r'asset="monitoring/experiment_results",'
                                                    r'name=~"ctr_difference\|ctr_difference_ci_low\|'
                                                    r'ctr_difference_ci_high"',
        "analysis p-value": r'asset="monitoring/experiment_results",name="p_value"',
    }
    by_id = {panel["id"]: panel for panel in dashboard["panels"]}
    row = next(panel for panel in dashboard["panels"] if panel["type"] == "row" and "experiment" in panel["title"])
    next_row = min((panel["gridPos"]["y"] for panel in dashboard["panels"]
                    if panel["type"] == "row" and panel["gridPos"]["y"] > row["gridPos"]["y"]), default=10**6)
    for what, pattern in wanted.items():
        found = _panels_mentioning(dashboard, pattern)
        assert found, f"no panel for {what} ({pattern})"
        assert all(row["gridPos"]["y"] < by_id[i]["gridPos"]["y"] < next_row for i in found), (
            f"{what} is outside the {row['title']!r} row")


# ----- the alerting rules -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rules() -> list[dict]:
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names)), "duplicate rule group names"
    found = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["rules"], group["name"]
        found += group["rules"]
    return found


def test_prometheus_loads_the_rule_file_that_compose_mounts():
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert config["rule_files"] == [ALERTS.name]  # relative to the configuration file, as Prometheus reads it
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in compose["services"]["prometheus"]["volumes"]}
    config_dir = Path(mounts[f"./{PROMETHEUS.relative_to(REPO)}"]).parent
    assert mounts[f"./{ALERTS.relative_to(REPO)}"] == str(config_dir / ALERTS.name)


def test_every_rule_is_complete(rules):
    names = [rule.get("alert") for rule in rules]
    assert all(names) and len(names) == len(set(names)), "every rule is a uniquely named alert"
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"HashiraMart[A-Z][A-Za-z0-9]+", name), name
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, name
        assert isinstance(rule["expr"], str) and rule["expr"].strip(), name
        assert DURATION.match(str(rule["for"])), f"{name}: for {rule['for']!r}"
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"].strip(), name
        for text in [*rule["labels"].values(), *rule["annotations"].values()]:
            assert text.count("{{") == text.count("}}"), f"{name}: unbalanced template in {text!r}"
            for label in re.findall(r"\$labels\.(\w+)", text):
                assert label in _output_labels(rule["expr"]), f"{name}: its result has no label {label!r}"


def _output_labels(expr: str) -> set[str]:
    """A generous bound on the labels an expression's result can carry (the template check above)."""
    s = scan(expr)
    return s.grouping_labels | s.added_labels | TARGET_LABELS | {label for sel in s.selectors
                                                                 for label, _, _ in sel.matchers} | {
        "asset", "check", "severity", "model", "source", "route", "status", "method", "name", "outcome"}


def test_rules_query_only_exported_metrics(rules, exported, known_values):
    source = _monitoring_source()
    for rule in rules:
        check_expr(rule["expr"], f"alert {rule['alert']}", exported, known_values, source,
                   version_must_be_aggregated=True)  # a version label would resolve and re-fire at each promotion


def test_rules_cover_what_operations_asked_for(rules):
    by_metric = {
        "API 5xx rate": r'hashiramart_http_requests_total\{status=~"5\.\."',
        "p95 latency": r"histogram_quantile\(0\.95,[\s\S]*_duration_seconds_bucket[\s\S]*> 0\.01",
        "data freshness": r"time\(\) - [\s\S]*hashiramart_asset_last_materialization_timestamp_seconds",
        "registry unreachable": r"hashiramart_model_registry_reachable == 0",
        "model reload failures": r'hashiramart_model_reloads_total\{outcome="failure"\}',
        "NDCG degradation": r'name="ndcg_at_10"',
        "WAPE degradation": r'name="wape"',
        "scrape target down": r"up\{",
        "feedback rejections (poisoning)": r"hashiramart_feedback_rejected_total[\s\S]*/[\s\S]*"
                                           r"hashiramart_feedback_total",
        "challenger share without challenger answers": r'hashiramart_experiment_challenger_share\{mode="split"\}[\s\S]*'
                                                       r'unless[\s\S]*hashiramart_recommendations_served_total'
                                                       r'\{variant="challenger"\}',
    }
    for what, pattern in by_metric.items():
        assert any(re.search(pattern, rule["expr"]) for rule in rules), f"no alert on {what}"
