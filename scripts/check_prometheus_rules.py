"""Prometheus's own checks of the alert rules and dashboard queries (run where promtool is installed).

Not part of the test suite: promtool is a Go binary that no Python package ships, and a test that skips
when it is missing would hide that it never ran. Run it by hand or in a pipeline that has Prometheus:

    PROMTOOL=/path/to/promtool .venv/bin/python scripts/check_prometheus_rules.py

It runs ``promtool check config`` on docker/prometheus.yml and ``promtool test rules`` with 40 minutes of
simulated series: every alert fires for exactly the expected label sets, and the dashboard's champion
lines stay one series across a v3 -> v4 promotion. The Python-level checks of the same files are in
tests/production/test_grafana_dashboards.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.production.test_grafana_dashboards import (  # noqa: E402
    ALERTS,
    DASHBOARD,
    DASHBOARDS,
    PROMETHEUS,
    _targets,
)


def _promtool() -> str:
    path = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not path:
        raise SystemExit("promtool is not installed (apt-get install prometheus, or PROMTOOL=/path/to/promtool)")
    return path


def check_config() -> None:
    result = subprocess.run([_promtool(), "check", "config", str(PROMETHEUS)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


API = 'job="hashiramart-api",instance="api:8000"'
PLATFORM = 'job="hashiramart-platform",instance="metrics-exporter:9108"'
REC, FC = "hashiramart-recommender", "hashiramart-sales-forecaster"
# 40 minutes of one API and one exporter: /recommend at 1 req/s with 1/7 503s and 2/7 of the requests over 10 ms,
# /products fast; the forecaster never loaded (failures every poll, registry check failing from minute 10); the
# recommender promoted from v3 to v4 at minute 20; NDCG under half its holdout, WAPE within its limit; raw/orders
# last landed 28 h before the start, raw/events just now. An experiment gives the challenger half the customers, but
# its answers stop at minute 10; from minute 20, 30 feedback events a minute are rejected against 10 accepted.
SERIES = {
    f'hashiramart_http_requests_total{{{API},method="POST",route="/recommend",status="200"}}': "0+60x40",
    f'hashiramart_http_requests_total{{{API},method="POST",route="/recommend",status="503"}}': "0+10x40",
    f'hashiramart_http_requests_total{{{API},method="GET",route="/products",status="200"}}': "0+60x40",
    **{f'hashiramart_http_request_duration_seconds_bucket{{{API},method="POST",route="/recommend",le="{le}"}}': values
       for le, values in (("0.005", "0+30x40"), ("0.01", "0+50x40"), ("0.025", "0+70x40"), ("+Inf", "0+70x40"))},
    f'hashiramart_http_request_duration_seconds_count{{{API},method="POST",route="/recommend"}}': "0+70x40",
    **{f'hashiramart_http_request_duration_seconds_bucket{{{API},method="GET",route="/products",le="{le}"}}': "0+60x40"
       for le in ("0.005", "0.01", "0.025", "+Inf")},
    f'hashiramart_http_request_duration_seconds_count{{{API},method="GET",route="/products"}}': "0+60x40",
    f"up{{{API}}}": "1x40",
    f"up{{{PLATFORM}}}": "1x20 0x20",
    f'hashiramart_model_info{{{API},model="{REC}",version="3",run_id="r3"}}': "1x20",
    f'hashiramart_model_info{{{API},model="{REC}",version="4",run_id="r4"}}': "_x20 1x20",
    f'hashiramart_model_reloads_total{{{API},model="{FC}",outcome="failure"}}': "0+2x40",
    f'hashiramart_model_reloads_total{{{API},model="{REC}",outcome="success"}}': "1x20 2x20",
    f'hashiramart_model_registry_reachable{{{API},model="{FC}"}}': "1x10 0x30",
    f'hashiramart_model_registry_reachable{{{API},model="{REC}"}}': "1x40",
    f'hashiramart_model_champion_version{{{PLATFORM},model="{REC}"}}': "3x20 4x20",
    f'hashiramart_model_champion_metric{{{PLATFORM},model="{REC}",metric="ndcg_at_10",version="3"}}': "0.1x20",
    f'hashiramart_model_champion_metric{{{PLATFORM},model="{REC}",metric="ndcg_at_10",version="4"}}': "_x20 0.12x20",
    f'hashiramart_exporter_source_up{{{PLATFORM},source="mlflow"}}': "0x40",
    f'hashiramart_exporter_source_up{{{PLATFORM},source="dagster"}}': "1x40",
    **{f'hashiramart_monitoring_value{{{PLATFORM},asset="monitoring/{asset}",name="{name}"}}': values
       for asset, name, values in (("recommender_quality", "ndcg_at_10", "0.04x40"),
                                   ("recommender_quality", "holdout_ndcg_at_10", "0.1x40"),
                                   ("forecast_accuracy", "wape", "0.5x40"),
                                   ("forecast_accuracy", "backtest_wape", "0.4x40"))},
    f'hashiramart_asset_last_materialization_timestamp_seconds{{{PLATFORM},asset="raw/orders"}}': "-100800x40",
    f'hashiramart_asset_last_materialization_timestamp_seconds{{{PLATFORM},asset="raw/events"}}': "0x40",
    f'hashiramart_asset_check_passed{{{PLATFORM},asset="raw/orders",check="volume",severity="ERROR"}}': "1x20 0x20",
    f'hashiramart_experiment_challenger_share{{{API},model="{REC}",experiment_id="1",mode="split"}}': "0.5x40",
    f'hashiramart_recommendations_served_total{{{API},model="{REC}",variant="champion",model_version="3"}}':
        "0+30x40",
    f'hashiramart_recommendations_served_total{{{API},model="{REC}",variant="challenger",model_version="5"}}':
        "0+20x10 200x30",
    f'hashiramart_feedback_total{{{API},model="{REC}",variant="champion",event="click"}}': "0+10x40",
    f'hashiramart_feedback_rejected_total{{{API},reason="not_shown"}}': "0x20 0+30x20",
}
# alert -> the label sets its expression returns at minute 30 (before `for` and the rule's own labels)
EXPECTED = {
    "HashiraMartScrapeTargetDown": [f"{{{PLATFORM}}}"],
    "HashiraMartApi5xxRateHigh": ['{job="hashiramart-api"}'],
    "HashiraMartApi5xxRateElevated": ['{job="hashiramart-api"}'],
    "HashiraMartApiLatencyP95AboveTarget": ['{job="hashiramart-api",route="/recommend"}'],
    "HashiraMartApiLatencyP95Critical": [],
    "HashiraMartModelRegistryUnreachable": [f'{{{API},model="{FC}"}}'],
    "HashiraMartExporterSourceDown": [f'{{{PLATFORM},source="mlflow"}}'],
    "HashiraMartModelReloadFailures": [f'{{{API},model="{FC}"}}'],
    "HashiraMartModelNotServed": [f'{{{API},model="{FC}"}}'],
    "HashiraMartRecommenderNdcgDegraded": ['{asset="monitoring/recommender_quality"}'],
    "HashiraMartForecasterWapeDegraded": [],
    "HashiraMartDataStale": ['{asset="raw/orders"}'],
    "HashiraMartDataStaleCritical": [],
    "HashiraMartAssetCheckFailed": [f'{{{PLATFORM},asset="raw/orders",check="volume",severity="ERROR"}}'],
    "HashiraMartFeedbackRejectionsSpiking": ['{job="hashiramart-api"}'],
    "HashiraMartChallengerNotServed": [f'{{{API},model="{REC}"}}'],
}


def _expr_test(expr: str, eval_time: str, labels: list[str]) -> dict:
    # `* 0 + 1`: the labels are the point; the value is 1 for every series the expression returns
    return {"expr": f"({expr}) * 0 + 1", "eval_time": eval_time,
            "exp_samples": [{"labels": label_set, "value": 1} for label_set in labels]}


def check_rule_tests(rules: list[dict], dashboards: dict[str, dict], tmp_path: Path) -> None:
    promtool = _promtool()
    assert set(EXPECTED) == {rule["alert"] for rule in rules}, "every rule needs its expectation here"
    tests = [_expr_test(rule["expr"], "30m", EXPECTED[rule["alert"]]) for rule in rules]
    # The dashboard's version-labelled lines: one series before and after the v3 -> v4 promotion at minute 20.
    dashboard = dashboards[DASHBOARD.name]
    lines = [t["expr"] for panel, t in _targets(dashboard) if "hashiramart_model_champion_metric" in t["expr"]
             and f'model="{REC}"' in t["expr"] and not t.get("instant")]
    assert lines
    for expr in lines:
        tests += [_expr_test(expr, when, [f'{{model="{REC}"}}']) for when in ("10m", "19m", "20m", "30m")]
    (tmp_path / ALERTS.name).write_text(ALERTS.read_text())
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({
        "rule_files": [ALERTS.name], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in SERIES.items()],
                   "promql_expr_test": tests}],
    }, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def main() -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    dashboards = {path.name: json.loads(path.read_text()) for path in DASHBOARDS}
    check_config()
    with tempfile.TemporaryDirectory() as tmp:
        check_rule_tests(rules, dashboards, Path(tmp))
    print("promtool: configuration valid; every alert fires as expected; champion lines survive a promotion")


if __name__ == "__main__":
    main()
