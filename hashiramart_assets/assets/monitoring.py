"""Monitoring layer: feature drift, recommender quality and forecast accuracy (thin glue over monitoring/).

Their checks are what the retraining sensor watches (automation.py). A monitor that cannot compute
(empty window, no champion to compare with) fails the asset with the reason instead of failing a
check, so it never triggers a retrain.
"""

# No `from __future__ import annotations`: Dagster reads Config / resource annotations at definition time.

import tempfile
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
import sqlalchemy
from mlflow.tracking import MlflowClient
from pydantic import Field

from hashiramart_assets import keys
from hashiramart_assets.automation import ON_MODEL_CHANGE
from hashiramart_assets.lake import paths, store
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.inputs import read_daily_sales
from hashiramart_assets.ml.registration import DATA_END_TAG
from hashiramart_assets.ml.tracking import child_run
from hashiramart_assets.monitoring.drift import DriftInputError, DriftThresholds, compute_drift
from hashiramart_assets.monitoring.drift_report import render_html, render_markdown
from hashiramart_assets.monitoring.forecast_accuracy import forecast_accuracy as score_forecasts
from hashiramart_assets.monitoring.recommender_quality import quality_report
from hashiramart_assets.monitoring.windows import choose_windows, last_day, rows_in
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.resources.mlflow import RegistryResource
from hashiramart_assets.resources.postgres import PostgresResource

GROUP = "monitoring"
DRIFT_KEY = keys.FEATURE_DRIFT
QUALITY_KEY = keys.RECOMMENDER_QUALITY
ACCURACY_KEY = keys.FORECAST_ACCURACY
DRIFT_NUMERIC = ["units", "revenue", "avg_price", "list_price", "promo_share"]
DRIFT_CATEGORICAL = ["category", "department"]
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _champion_run(client: MlflowClient, name: str):
    version = registry.champion(client, name)
    if version is None:
        return None, None
    assert version.run_id is not None  # train_* registers every version from its run
    return version, client.get_run(version.run_id)


def _check(key: dg.AssetKey, name: str, passed: bool, description: str, severity=ERROR, **metadata):
    return dg.AssetCheckResult(asset_key=key, check_name=name, passed=bool(passed), severity=severity,
                               description=description, metadata=metadata)


# ----- feature drift -----

class FeatureDriftConfig(dg.Config):
    """Windows and thresholds of the drift monitor (the checks' limits)."""

    reference_days: int = 28
    recent_days: int = 7
    psi_threshold: float = 0.2
    js_threshold: float = 0.1
    unseen_share_threshold: float = 0.01
    max_drift_share: float = 0.3
    max_psi: float = 0.25


DRIFT_CHECKS = [
    dg.AssetCheckSpec("drift_share", asset=DRIFT_KEY, description="Share of drifted features <= max_drift_share."),
    dg.AssetCheckSpec("max_psi", asset=DRIFT_KEY, description="Largest PSI of a numeric feature <= max_psi."),
    dg.AssetCheckSpec("unseen_categories", asset=DRIFT_KEY,
                      description="No category the champions never saw makes up a noticeable share of recent rows."),
    dg.AssetCheckSpec("volume", asset=DRIFT_KEY, description="Recent daily volume within 0.5x..2x of the reference "
                      "(warning: seasonality moves volume too)."),
]


def _reference_end(client: MlflowClient) -> date:
    ends = []
    for name in registry.MODEL_NAMES:
        _, run = _champion_run(client, name)
        if run is not None and run.data.tags.get(DATA_END_TAG):
            ends.append(date.fromisoformat(run.data.tags[DATA_END_TAG]))
    if not ends:
        raise dg.Failure("feature drift needs a reference: no champion model records the end of its training data "
                         "(train the models first: `hashiramart materialize 'group:models'`)")
    return min(ends)


def _log_report(registry_resource: RegistryResource, run_id: str, html: str, metrics: dict[str, float]) -> str:
    registry_resource.client()
    mlflow.set_experiment(registry_resource.experiment)
    with child_run(None, "feature_drift", {"dagster_run_id": run_id, "kind": "monitoring"}) as run:
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "feature_drift.html"
            page.write_text(html)
            mlflow.log_artifact(str(page), artifact_path="monitoring")
        return run.info.run_id


@dg.asset(
    key=DRIFT_KEY,
    group_name=GROUP,
    deps=[keys.FEATURES_DAILY_SALES, keys.SALES_FORECASTER,
          keys.RECOMMENDER],
    check_specs=DRIFT_CHECKS,
    automation_condition=ON_MODEL_CHANGE,
    kinds={"python", "html"},
    description="Recent window of features/daily_sales vs the window the champions were trained on: PSI and KS "
                "(numeric), Jensen-Shannon and chi-square (categorical), unseen categories, volume. HTML report on "
                "the lake and in MLflow.",
)
def feature_drift(
    context: dg.AssetExecutionContext, config: FeatureDriftConfig, lake: LakeResource, model_registry: RegistryResource
) -> dg.MaterializeResult:
    client = model_registry.client()
    reference_end = _reference_end(client)
    table = store.read_parquet(lake.feature_dir("daily_sales"))
    try:
        windows = choose_windows(last_day(table, "date", "features/daily_sales"), reference_end,
                                 config.reference_days, config.recent_days)
        result = compute_drift(
            rows_in(table, "date", windows.reference), rows_in(table, "date", windows.recent),
            DRIFT_NUMERIC, DRIFT_CATEGORICAL, "date",
            DriftThresholds(psi_threshold=config.psi_threshold, js_threshold=config.js_threshold,
                            unseen_share_threshold=config.unseen_share_threshold),
            table_name="features/daily_sales", reference_window=windows.reference, recent_window=windows.recent,
        )
    except DriftInputError as exc:
        raise dg.Failure(f"feature drift cannot be computed: {exc}") from exc
    html = render_html(result, "HashiraMart feature drift: features/daily_sales")
    report_uri = paths.join(lake.root, "monitoring", "feature_drift", f"report_{windows.recent.end}.html")
    store.write_text(html, report_uri)
    max_psi = result.max_psi or 0.0
    mlflow_run = _log_report(model_registry, context.run_id, html,
                             {"share_drifted": result.share_drifted, "max_psi": max_psi})
    unseen = {feature: [u.category for u in items] for feature, items in result.unseen_categories.items() if items}
    flagged_unseen = [f.feature for f in result.features if f.unseen_share >= config.unseen_share_threshold
                      and f.unseen_categories]
    volume = result.volume
    checks = [
        _check(DRIFT_KEY, "drift_share", result.share_drifted <= config.max_drift_share,
               f"{result.share_drifted:.0%} of features drifted (limit {config.max_drift_share:.0%}): "
               f"{', '.join(f.feature for f in result.drifted_features) or 'none'}",
               share_drifted=result.share_drifted),
        _check(DRIFT_KEY, "max_psi", max_psi <= config.max_psi,
               f"max PSI {max_psi:.3f} on {result.max_psi_feature} (limit {config.max_psi})", max_psi=max_psi),
        _check(DRIFT_KEY, "unseen_categories", not flagged_unseen,
               f"categories the champions never saw: {unseen}" if unseen else "no unseen categories",
               unseen=dg.MetadataValue.json(unseen)),
        _check(DRIFT_KEY, "volume", volume is None or not volume.flagged,
               f"recent/reference daily volume ratio {volume.ratio:.2f}" if volume else "no date column", WARN),
    ]
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(render_markdown(result)),
            "report": dg.MetadataValue.path(report_uri),
            "mlflow_run_id": mlflow_run,
            "mlflow_run": model_registry.run_link(mlflow_run),
            "report_in_mlflow": model_registry.run_link(mlflow_run, "monitoring/feature_drift.html"),
            "reference_window": str(windows.reference),
            "recent_window": str(windows.recent),
            "new_days_since_training": windows.new_days,
            "share_drifted": result.share_drifted,
            "max_psi": max_psi,
            "drifted_features": dg.MetadataValue.json([f.feature for f in result.drifted_features]),
            "unseen_categories": dg.MetadataValue.json(unseen),
        },
        check_results=checks,
    )


# ----- recommender quality -----

class RecommenderQualityConfig(dg.Config):
    window_days: int = 28
    max_ndcg_drop: float = 0.5  # recent NDCG@10 may fall to half the champion's holdout NDCG
    max_ctr_drop: float = 0.3  # CTR may fall 30 % below the first CTR measured for this champion


QUALITY_CHECKS = [
    dg.AssetCheckSpec("offline_quality", asset=QUALITY_KEY,
                      description="NDCG@10 on purchases after the training data >= (1 - max_ndcg_drop) x "
                                  "holdout NDCG."),
    dg.AssetCheckSpec("ctr_drop", asset=QUALITY_KEY,
                      description="CTR >= (1 - max_ctr_drop) x the champion's reference CTR."),
]


def _read_feedback(engine: sqlalchemy.Engine, days: int = 35) -> pd.DataFrame | None:
    """The champion's impressions (items the API showed) and attributed clicks, per hour (event, ts, n).

    Only what the API recorded counts: impressions from ``app.impressions`` (variant champion, so a running
    experiment's challenger does not move the champion's CTR), clicks only when attributed to one of them,
    once per (impression, product). None when the API has not created its tables yet.
    """
    with engine.connect() as conn:
        exists = conn.execute(sqlalchemy.text("select to_regclass('app.impressions')")).scalar()
        if exists is None:
            return None
        return pd.read_sql(sqlalchemy.text(
            "select event, date_trunc('hour', ts) as ts, sum(n)::bigint as n from ("
            "  select 'impression' as event, ts, cardinality(product_ids) as n from app.impressions"
            "  where variant = 'champion' and ts > now() - make_interval(days => :d)"
            "  union all"
            "  select 'click', min(ts), 1 from app.feedback where event = 'click' and variant = 'champion'"
            "  and impression_id is not null and ts > now() - make_interval(days => :d)"
            "  group by impression_id, product_id"
            ") shown group by 1, 2"), conn, params={"d": days})


def _reference_ctr(context: dg.AssetExecutionContext, version: str) -> float | None:
    """The first CTR measured for this champion version (earlier materialisations' metadata)."""
    records = context.instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=QUALITY_KEY), limit=1000,
                                                      ascending=True).records
    for record in records:
        meta = record.asset_materialization.metadata
        if meta.get("champion_version") and meta["champion_version"].value == version and "ctr" in meta:
            return float(meta["ctr"].value)
    return None


@dg.asset(
    key=QUALITY_KEY,
    group_name=GROUP,
    deps=[keys.RECOMMENDATIONS, keys.RAW_ORDERS, keys.RAW_EVENTS],
    check_specs=QUALITY_CHECKS,
    automation_condition=ON_MODEL_CHANGE,
    kinds={"python"},
    description="The champion recommender on purchases after its training data (offline NDCG) and its CTR "
                "(serving feedback, else a clickstream proxy), against its own reference.",
)
def recommender_quality(
    context: dg.AssetExecutionContext, config: RecommenderQualityConfig, lake: LakeResource,
    postgres: PostgresResource, model_registry: RegistryResource,
) -> dg.MaterializeResult:
    version, run = _champion_run(model_registry.client(), registry.RECOMMENDER)
    if version is None:
        raise dg.Failure(f"{registry.RECOMMENDER} has no champion: nothing to monitor yet")
    since = date.fromisoformat(run.data.tags[DATA_END_TAG])
    top_uri = paths.join(lake.root, "models", "recommendations", "part.parquet")
    if not store.exists(top_uri):
        raise dg.Failure(f"no batch recommendations at {top_uri}: materialise models/recommendations first")
    top_k = store.read_parquet(top_uri)
    orders = store.read_parquet(lake.raw_table("orders"), ["order_ts", "customer_id", "product_id", "quantity",
                                                           "is_return"])
    events = store.read_parquet(lake.raw_table("events"), ["event_ts", "customer_id", "product_id", "event_type"])
    until = max(pd.to_datetime(orders["order_ts"]).max().date(), since)
    until = min(until, since + timedelta(days=config.window_days))
    report = quality_report(top_k, orders, events, _read_feedback(postgres.get_engine()), since, until)
    holdout_ndcg = run.data.metrics.get("ndcg_at_10")
    reference_ctr = _reference_ctr(context, str(version.version))
    checks = []
    if report.ndcg_at_10 is None or holdout_ndcg is None:
        checks.append(_check(QUALITY_KEY, "offline_quality", True,
                             f"no purchases after the champion's data end {since}: nothing to score yet"))
    else:
        floor = (1 - config.max_ndcg_drop) * holdout_ndcg
        checks.append(_check(QUALITY_KEY, "offline_quality", report.ndcg_at_10 >= floor,
                             f"NDCG@10 {report.ndcg_at_10:.4f} on {report.customers_scored} customers vs floor "
                             f"{floor:.4f} (holdout {holdout_ndcg:.4f})", ndcg_at_10=report.ndcg_at_10))
    if report.ctr is None or reference_ctr is None:
        checks.append(_check(QUALITY_KEY, "ctr_drop", True,
                             "first CTR for this champion (it becomes the reference)" if report.ctr is not None
                             else "no impressions in the window"))
    else:
        floor = (1 - config.max_ctr_drop) * reference_ctr
        checks.append(_check(QUALITY_KEY, "ctr_drop", report.ctr >= floor,
                             f"CTR {report.ctr:.4f} ({report.ctr_source}) vs floor {floor:.4f} (reference "
                             f"{reference_ctr:.4f})", ctr=report.ctr))
    return dg.MaterializeResult(
        metadata={**report.metadata(), "champion_version": str(version.version),
                  "champion": model_registry.version_link(registry.RECOMMENDER, version.version), "since": str(since),
                  "holdout_ndcg_at_10": holdout_ndcg if holdout_ndcg is not None else float("nan"),
                  **({"reference_ctr": reference_ctr} if reference_ctr is not None else {})},
        check_results=checks,
    )


# ----- forecast accuracy -----

class ForecastAccuracyConfig(dg.Config):
    max_wape_increase: float = 0.5  # live WAPE may exceed the backtest WAPE by 50 %
    grains: list[str] = Field(default_factory=lambda: ["category", "product"])


@dg.asset(
    key=ACCURACY_KEY,
    group_name=GROUP,
    deps=[keys.SALES_FORECASTS, keys.MARTS_DAILY_SALES],
    check_specs=[dg.AssetCheckSpec("wape_degradation", asset=ACCURACY_KEY,
                                   description="WAPE of past forecasts <= (1 + max_wape_increase) x backtest WAPE.")],
    automation_condition=ON_MODEL_CHANGE,
    kinds={"python"},
    description="Past forecasts (models/sales_forecasts) against the actuals that have arrived since (WAPE).",
)
def forecast_accuracy(
    config: ForecastAccuracyConfig, lake: LakeResource, postgres: PostgresResource, model_registry: RegistryResource
) -> dg.MaterializeResult:
    version, run = _champion_run(model_registry.client(), registry.FORECASTER)
    if version is None:
        raise dg.Failure(f"{registry.FORECASTER} has no champion: nothing to monitor yet")
    folder = paths.join(lake.root, "models", "sales_forecasts")
    forecasts = store.read_parquet(folder) if store.exists(folder) else pd.DataFrame()
    if "as_of" in forecasts:
        forecasts["as_of"] = pd.to_datetime(forecasts["as_of"].astype(str))
    history = history_from_daily_sales(read_daily_sales(postgres.get_engine(), config.grains))
    report = score_forecasts(forecasts, history)
    backtest_wape = run.data.metrics.get("wape")
    if report.wape is None or backtest_wape is None:
        check = _check(ACCURACY_KEY, "wape_degradation", True, "no forecast has an actual yet: nothing to score")
    else:
        limit = (1 + config.max_wape_increase) * backtest_wape
        check = _check(ACCURACY_KEY, "wape_degradation", report.wape <= limit,
                       f"live WAPE {report.wape:.4f} on {report.scored_points} points vs limit {limit:.4f} "
                       f"(backtest {backtest_wape:.4f})", wape=report.wape)
    return dg.MaterializeResult(
        metadata={"scored_points": report.scored_points, "champion_version": str(version.version),
                  "champion": model_registry.version_link(registry.FORECASTER, version.version),
                  **({"wape": report.wape} if report.wape is not None else {}),
                  "wape_by_as_of": dg.MetadataValue.json(report.by_as_of),
                  "backtest_wape": backtest_wape if backtest_wape is not None else float("nan")},
        check_results=[check],
    )


MONITORING_ASSETS = [feature_drift, recommender_quality, forecast_accuracy]
