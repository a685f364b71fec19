"""Models trained for real through Dagster: generated data with taste clusters, real MLflow (SQLite) and registry.

The trained platform (tests/integration/conftest.py) has its own HASHIRAMART_HOME and its own database on
the session's embedded Postgres server; it is trained once per session and shared with the loop tests.
"""

from __future__ import annotations

import dagster as dg
import mlflow
import pandas as pd
import pytest
import sqlalchemy

from hashiramart_assets.ml import registry
from hashiramart_assets.runner import materialize
from tests.integration.conftest import TRAINED_DATA

pytestmark = pytest.mark.slow  # the trained platform: the whole graph, models included

DATA = TRAINED_DATA
RECOMMENDER_METRICS = [
    f"{prefix}{name}{suffix}"
    for prefix in ("", "baseline_popular_", "baseline_repurchase_", "baseline_als_")
    for name in ("precision_at_10", "recall_at_10", "ndcg_at_10", "map_at_10", "coverage", "novelty")
    for suffix in ("", "_discovery")
]
FORECASTER_METRICS = ["wape", "rmse", "rmspe", "mape_nonzero", "interval_coverage", "baseline_seasonal_naive_wape",
                      "baseline_seasonal_naive_rmse", "baseline_seasonal_naive_rmspe",
                      "baseline_seasonal_naive_mape_nonzero"]


def _latest(instance: dg.DagsterInstance, key: str):
    return instance.get_latest_materialization_event(dg.AssetKey(key.split("/")))


def _checks(instance: dg.DagsterInstance, run_id: str) -> dict[str, bool]:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {
        f"{r.dagster_event.event_specific_data.asset_key.to_user_string()}:"
        f"{r.dagster_event.event_specific_data.check_name}": r.dagster_event.event_specific_data.passed
        for r in records
    }


def test_first_training_registers_champions_with_lineage_both_ways(trained):
    settings, _, instance, client = trained
    for key, name, metrics in (("models/recommender", registry.RECOMMENDER, RECOMMENDER_METRICS),
                               ("models/sales_forecaster", registry.FORECASTER, FORECASTER_METRICS)):
        event = _latest(instance, key)
        meta = event.asset_materialization.metadata
        champion = registry.champion(client, name)
        assert str(champion.version) == meta["model_version"].value == "1"
        assert meta["promotion_decision"].value == "promoted"
        run = client.get_run(meta["mlflow_run_id"].value)
        assert champion.run_id == run.info.run_id
        # MLflow -> Dagster: the run carries the Dagster run id, the commit and the input data versions
        assert run.data.tags["dagster_run_id"] == event.run_id
        assert len(run.data.tags["git_commit"]) >= 40
        assert run.data.tags["promotion_decision"] == "promoted"
        parent = client.get_run(run.data.tags["mlflow.parentRunId"])
        assert parent.data.tags["dagster_run_id"] == event.run_id  # dagster-mlflow's run for this Dagster run
        missing = [m for m in metrics if m not in run.data.metrics]
        assert not missing
    rec_run = client.get_run(_latest(instance, "models/recommender").asset_materialization
                             .metadata["mlflow_run_id"].value)
    features_version = _latest(instance, "features/interactions").asset_materialization.tags["dagster/data_version"]
    assert rec_run.data.tags["data_version.features/interactions"] == features_version
    # artifacts live under HASHIRAMART_HOME, not in ./mlruns of the test's folder
    assert any((settings.home / "mlflow" / "artifacts").rglob("MLmodel"))


def test_hybrid_beats_every_baseline_and_checks_pass(trained):
    _, _, instance, client = trained
    event = _latest(instance, "models/recommender")
    metrics = client.get_run(event.asset_materialization.metadata["mlflow_run_id"].value).data.metrics
    for baseline in ("popular", "repurchase", "als"):
        assert metrics["ndcg_at_10"] > metrics[f"baseline_{baseline}_ndcg_at_10"], baseline
    assert metrics["ndcg_at_10_discovery"] > metrics["baseline_popular_ndcg_at_10_discovery"]
    checks = _checks(instance, event.run_id)
    assert checks["models/recommender:beats_baselines"] and checks["models/recommender:metrics_in_range"]
    assert checks["models/sales_forecaster:beats_baselines"] and checks["models/sales_forecaster:metrics_in_range"]
    forecast = client.get_run(_latest(instance, "models/sales_forecaster").asset_materialization
                              .metadata["mlflow_run_id"].value).data.metrics
    assert forecast["wape"] < forecast["baseline_seasonal_naive_wape"]
    assert 0.5 <= forecast["interval_coverage"] <= 1.0


def test_champions_load_from_the_registry_and_predict(trained):
    settings, _, _, client = trained
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    recommender = mlflow.pyfunc.load_model(f"models:/{registry.RECOMMENDER}@champion")
    customers = pd.read_parquet(settings.landing_dir / "customers.parquet")["customer_id"]
    known = int(customers.iloc[0])
    out = recommender.predict(pd.DataFrame({"customer_id": [known, 999_999_999], "k": [5, 5]}))
    assert list(out.groupby("customer_id").size()) == [5, 5]
    assert not out[out["customer_id"] == known]["is_fallback"].any()
    assert out[out["customer_id"] == 999_999_999]["is_fallback"].all()
    # the forecaster is one pyfunc: history in, forecast and interval out, the same as the model in memory
    forecaster = mlflow.pyfunc.load_model(f"models:/{registry.FORECASTER}@champion")
    example = forecaster.input_example
    out = forecaster.predict(example)
    model = forecaster.unwrap_python_model().model
    pd.testing.assert_frame_equal(out, model.predict(example))
    assert list(out.columns) == ["series_id", "date", "forecast", "lower", "upper"]
    assert out.groupby("series_id").size().eq(model.params.horizon).all()
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    assert forecaster.metadata.metadata["interval_level"] == 0.8
    run_id = registry.champion(client, registry.FORECASTER).run_id
    figures = {a.path for a in client.list_artifacts(run_id, "backtest")}
    assert figures == {"backtest/forecast_vs_actual.png", "backtest/interval.png"}


def test_batch_recommendations_cover_every_customer(trained):
    settings, _, instance, _ = trained
    engine = sqlalchemy.create_engine(settings.postgres_url)
    try:
        with engine.connect() as conn:
            rows = pd.read_sql("select customer_id, rank, product_id, model_version from serving.recommendations", conn)
    finally:
        engine.dispose()
    customers = pd.read_parquet(settings.landing_dir / "customers.parquet")
    assert set(rows["customer_id"]) == set(customers["customer_id"])
    top_n = _latest(instance, "models/recommendations").asset_materialization.metadata
    assert rows.groupby("customer_id")["rank"].max().eq(20).all() and not rows.duplicated(["customer_id", "rank"]).any()
    assert set(rows["model_version"]) == {"1"} and top_n["model_version"].value == "1"


def test_worse_challenger_is_not_promoted_and_same_seed_gives_same_metrics(trained):
    _, defs, instance, client = trained
    first = client.get_run(registry.champion(client, registry.RECOMMENDER).run_id).data.metrics
    # ALS alone, barely fitted: no own history, neighbours, popularity or seasonal lift to fall back on
    bad = {"factors": 2, "iterations": 1, "history_weight": 0.0, "als_weight": 1.0, "popularity_weight": 0.0,
           "neighbour_weight": 0.0, "explore_neighbour_weight": 0.0, "explore_popularity_weight": 0.0,
           "seasonal_lift": 0.0}
    summary = materialize(defs, instance, "key:models/recommender", asset_config={"models__recommender": bad})
    assert summary.success
    meta = _latest(instance, "models/recommender").asset_materialization.metadata
    assert meta["model_version"].value == "2" and meta["promotion_decision"].value == "kept_champion"
    assert "baselines" in meta["promotion_reason"].value or "worse" in meta["promotion_reason"].value
    assert str(registry.champion(client, registry.RECOMMENDER).version) == "1"
    assert str(client.get_model_version_by_alias(registry.RECOMMENDER, "challenger").version) == "2"
    assert not _checks(instance, summary.run_id)["models/recommender:beats_baselines"]
    # default hyperparameters again, same data: identical metrics (fixed seed), so no reason to promote
    again = materialize(defs, instance, "key:models/recommender")
    meta = _latest(instance, "models/recommender").asset_materialization.metadata
    rerun = client.get_run(meta["mlflow_run_id"].value).data.metrics
    assert {k: rerun[k] for k in RECOMMENDER_METRICS} == {k: first[k] for k in RECOMMENDER_METRICS}
    assert again.success and meta["promotion_decision"].value == "kept_champion"
    assert "no improvement" in meta["promotion_reason"].value
    assert str(registry.champion(client, registry.RECOMMENDER).version) == "1"


def test_batch_forecasts_follow_the_last_day_for_every_series(trained):
    settings, _, instance, _ = trained
    meta = _latest(instance, "models/sales_forecasts").asset_materialization.metadata
    as_of = meta["as_of"].value
    frame = pd.read_parquet(settings.home / "lake" / "models" / "sales_forecasts" / f"as_of={as_of}" / "part.parquet")
    assert as_of == str(DATA.end)  # the last landed day
    per_series = frame.groupby("series_id")["date"].agg(["min", "max", "count"])
    assert (per_series["count"] == 28).all()
    assert (per_series["min"] == pd.Timestamp(DATA.end) + pd.Timedelta(days=1)).all()
    assert {s.split(":")[0] for s in per_series.index} == {"product", "category"}
    assert ((frame["lower"] <= frame["forecast"]) & (frame["forecast"] <= frame["upper"])).all()
    assert (frame["forecast"] >= 0).all() and set(frame["model_version"]) == {"1"}
