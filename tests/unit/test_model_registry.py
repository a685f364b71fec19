"""Promotion rule and the registry's aliases, on a real MLflow SQLite store (no stages anywhere)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import sqlalchemy
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from hashiramart_assets.cli import main
from hashiramart_assets.experiments.audit import audited, history
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.promotion import FORECASTER_RULE, RECOMMENDER_RULE, decide
from hashiramart_assets.ml.tracking import child_run, ensure_experiment
from tests.support import session_postgres_database

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
def app_database(platform_home):
    """A fresh database on the session's Postgres: the audit trail of alias moves lives in its app schema."""
    url = session_postgres_database("hm_registry")
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("drop schema if exists app cascade"))
    yield url, engine
    engine.dispose()


@pytest.fixture
def store(tmp_path, monkeypatch, app_database):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("HASHIRAMART_POSTGRES_URL", app_database[0])
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ensure_experiment(uri, "hashiramart", str(tmp_path / "artifacts"))
    mlflow.set_experiment("hashiramart")
    return uri, MlflowClient(uri), tmp_path, app_database[1]


def _log_version(ndcg: float) -> str:
    with child_run(None, "test", {"dagster_run_id": "r"}):
        mlflow.log_metric("ndcg_at_10", ndcg)
        info = mlflow.pyfunc.log_model(name="model", python_model=_Echo(), registered_model_name=registry.RECOMMENDER,
                                       input_example=pd.DataFrame({"customer_id": [1]}))
    return str(info.registered_model_version)


def test_promote_rollback_and_list_with_aliases(store):
    _, client, tmp_path, engine = store
    v1, v2, v3 = (_log_version(x) for x in (0.2, 0.3, 0.25))
    assert (v1, v2, v3) == ("1", "2", "3")
    # artifacts land under the configured root, not ./mlruns of the current folder
    assert any((tmp_path / "artifacts").rglob("MLmodel"))
    assert registry.champion(client, registry.RECOMMENDER) is None
    with audited(engine, "test:alice"):
        registry.promote(client, registry.RECOMMENDER, v1, "first")
        registry.mark_challenger(client, registry.RECOMMENDER, v2)
        registry.promote(client, registry.RECOMMENDER, v2, "better")
    moves = [(r.alias, r.from_version, r.to_version, r.actor, r.reason) for r in history(engine, registry.RECOMMENDER)]
    assert moves == [
        ("champion", None, "1", "test:alice", "first"),
        ("challenger", None, "2", "test:alice", "newly trained, judged against the champion"),
        ("champion", "1", "2", "test:alice", "better"),
        ("challenger", "2", None, "test:alice", "became champion: better"),
    ]
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
    assert len(history(engine, registry.RECOMMENDER)) == 4  # moves outside an audited block are not written
    registry.mark_challenger(client, registry.RECOMMENDER, v2)
    with audited(engine, "sensor:test"):
        retired = registry.retire_challenger(client, registry.RECOMMENDER, "lost online")
    assert str(retired.version) == "2" and registry.challenger(client, registry.RECOMMENDER) is None
    assert history(engine, registry.RECOMMENDER)[-1].line().endswith("sensor:test: lost online")
    with pytest.raises(registry.RegistryError, match="no challenger"):
        registry.retire_challenger(client, registry.RECOMMENDER, "again")


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
    # every move made by the CLI is in the audit trail, as done by the CLI's user, oldest first
    trail = runner.invoke(main, ["models", "history", registry.RECOMMENDER])
    assert trail.exit_code == 0, trail.output
    lines = trail.output.strip().splitlines()
    assert len(lines) == 2 and "(none) -> v2" in lines[0] and "v2 -> v1" in lines[1]
    assert "cli:" in lines[0] and "promoted by hand" in lines[0] and "rollback from v2 by hand" in lines[1]
    assert "no alias moves recorded yet" in runner.invoke(main, ["models", "history", registry.FORECASTER]).output
    assert runner.invoke(main, ["models", "history", "nope"]).exit_code != 0
