"""Promotion rule and the registry's aliases, on a real MLflow SQLite store (no stages anywhere)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from hashiramart_assets.cli import main
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.promotion import FORECASTER_RULE, RECOMMENDER_RULE, decide
from hashiramart_assets.ml.tracking import child_run, ensure_experiment

GOOD = {"ndcg_at_10": 0.30, "baseline_popular_ndcg_at_10": 0.10, "baseline_repurchase_ndcg_at_10": 0.25,
        "baseline_als_ndcg_at_10": 0.12}


def test_first_version_is_promoted_only_when_it_beats_every_baseline():
    assert decide(RECOMMENDER_RULE, GOOD, None).promote
    weak = {**GOOD, "ndcg_at_10": 0.20}  # loses to repurchase (0.25), beats the other two
    decision = decide(RECOMMENDER_RULE, weak, None)
    assert not decision.promote
    assert "baseline_repurchase_ndcg_at_10 0.2500" in decision.reason and "popular" not in decision.reason


def test_champion_comparison_on_the_same_holdout():
    champion = {**GOOD, "ndcg_at_10": 0.28}
    assert decide(RECOMMENDER_RULE, GOOD, champion, "3").promote  # 0.30 > 0.28
    worse = decide(RECOMMENDER_RULE, {**GOOD, "ndcg_at_10": 0.27}, champion, "3")
    assert not worse.promote and "worse than the champion" in worse.reason and "v3" in worse.reason
    # a tie (same hyperparameters refitted on the same split) wins only with newer training data
    assert not decide(RECOMMENDER_RULE, champion, champion, "3", newer_data=False).promote
    assert decide(RECOMMENDER_RULE, champion, champion, "3", newer_data=True).promote


def test_lower_is_better_for_forecast_wape():
    metrics = {"wape": 0.30, "baseline_seasonal_naive_wape": 0.40}
    assert decide(FORECASTER_RULE, metrics, {"wape": 0.35}, "1").promote
    assert not decide(FORECASTER_RULE, metrics, {"wape": 0.25}, "1").promote
    assert not decide(FORECASTER_RULE, {**metrics, "wape": 0.45}, None).promote
    assert not decide(FORECASTER_RULE, {**metrics, "wape": float("nan")}, None).promote


class _Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ensure_experiment(uri, "hashiramart", str(tmp_path / "artifacts"))
    mlflow.set_experiment("hashiramart")
    return uri, MlflowClient(uri), tmp_path


def _log_version(ndcg: float) -> str:
    with child_run(None, "test", {"dagster_run_id": "r"}):
        mlflow.log_metric("ndcg_at_10", ndcg)
        info = mlflow.pyfunc.log_model(name="model", python_model=_Echo(), registered_model_name=registry.RECOMMENDER,
                                       input_example=pd.DataFrame({"customer_id": [1]}))
    return str(info.registered_model_version)


def test_promote_rollback_and_list_with_aliases(store):
    _, client, tmp_path = store
    v1, v2, v3 = (_log_version(x) for x in (0.2, 0.3, 0.25))
    assert (v1, v2, v3) == ("1", "2", "3")
    # artifacts land under the configured root, not ./mlruns of the current folder
    assert any((tmp_path / "artifacts").rglob("MLmodel"))
    assert registry.champion(client, registry.RECOMMENDER) is None
    registry.promote(client, registry.RECOMMENDER, v1, "first")
    registry.mark_challenger(client, registry.RECOMMENDER, v2)
    registry.promote(client, registry.RECOMMENDER, v2, "better")
    current = registry.champion(client, registry.RECOMMENDER)
    assert str(current.version) == "2" and current.tags["previous_champion"] == "1"
    assert current.tags["promotion_reason"] == "better"
    assert "challenger" not in current.aliases  # the challenger alias moved on with the promotion
    loaded = mlflow.pyfunc.load_model(f"models:/{registry.RECOMMENDER}@champion")
    assert loaded.metadata.run_id == current.run_id
    assert str(registry.rollback(client, registry.RECOMMENDER).version) == "1"
    assert str(registry.rollback(client, registry.RECOMMENDER, "3").version) == "3"
    rows = registry.list_versions(client, registry.RECOMMENDER)
    assert [r.version for r in rows] == ["3", "2", "1"]
    assert rows[0].aliases == ("champion",) and rows[0].headline_value == pytest.approx(0.25)
    with pytest.raises(registry.RegistryError, match="no version '9'"):
        registry.promote(client, registry.RECOMMENDER, "9", "x")


def test_models_cli(store):
    _log_version(0.2)
    _log_version(0.3)
    runner = CliRunner()
    out = runner.invoke(main, ["models", "promote", registry.RECOMMENDER, "2"])
    assert out.exit_code == 0, out.output
    assert "champion is now v2" in out.output
    listing = runner.invoke(main, ["models", "list", registry.RECOMMENDER])
    assert listing.exit_code == 0 and "v2" in listing.output and "champion" in listing.output
    assert "ndcg_at_10=0.3000" in listing.output
    first_rollback = runner.invoke(main, ["models", "rollback", registry.RECOMMENDER])
    assert first_rollback.exit_code != 0 and "give a VERSION" in first_rollback.output
    assert "champion is now v1" in runner.invoke(main, ["models", "rollback", registry.RECOMMENDER, "1"]).output
    unknown = runner.invoke(main, ["models", "list", "no-such-model"])
    assert unknown.exit_code != 0 and "no registered model 'no-such-model'" in unknown.output
    everything = runner.invoke(main, ["models", "list"])
    assert f"{registry.FORECASTER}: no versions yet" in everything.output
