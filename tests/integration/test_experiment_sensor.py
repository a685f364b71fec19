"""The online-experiment loop with real components: simulated feedback -> sensor -> run -> registry and audit.

Real: the session's embedded Postgres (own database ``hm_experiments``, schema ``app`` dropped around each
test), an MLflow SQLite registry in a temp folder, an ephemeral Dagster instance and the real Definitions.
Impressions and attributed feedback are written straight into ``app.impressions`` / ``app.feedback`` as the
API would (customers split by the real hash assignment); the ``conclude_experiments`` sensor is evaluated
in-process, as the daemon would tick it, and the run it requests is executed in-process.

Registered versions are bare runs with a logged ``ndcg_at_10`` (no model artifact): the verdict reads only
the registry's aliases and the runs' metrics, never the model.

The sample needed per variant is max(HASHIRAMART_EXPERIMENT_MIN_IMPRESSIONS, the power formula at the
champion's CTR for HASHIRAMART_EXPERIMENT_MIN_LIFT). At CTR 0.10 the default lift of 10 % asks for ~14,750
impressions per variant; a lift of 50 % asks for ~690, so the floor of 1,000 is what applies here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import mlflow
import pytest
import sqlalchemy
import sqlalchemy.pool
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

from hashiramart_assets import keys
from hashiramart_assets.automation import EXPERIMENT_JOB, EXPERIMENT_TAG
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.experiments import audit, store
from hashiramart_assets.experiments.assignment import CHALLENGER, CHAMPION, variant
from hashiramart_assets.experiments.store import Experiment
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.tracking import ensure_experiment
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir
from tests.support import apply_env, restore_env, session_postgres_database

pytestmark = pytest.mark.integration  # also given by the folder (tests/conftest.py); said here for the reader

MODEL = registry.RECOMMENDER
SENSOR = "conclude_experiments"
NODE = "monitoring__experiment_results"
CHECK = "challenger_not_worse"
ITEMS_PER_IMPRESSION = 10
PRODUCTS = [f"P{i:03d}" for i in range(ITEMS_PER_IMPRESSION)]
EXPERIMENT_ENV = {
    "HASHIRAMART_EXPERIMENT_MIN_IMPRESSIONS": "1000",
    "HASHIRAMART_EXPERIMENT_MIN_LIFT": "0.5",  # sizes the sample below the floor (see the module docstring)
    "HASHIRAMART_EXPERIMENT_CONFIDENCE": "0.95",
    "HASHIRAMART_EXPERIMENT_CHECK_MINUTES": "15",
}


@dataclass(frozen=True)
class Lab:
    engine: sqlalchemy.Engine
    client: MlflowClient
    mlflow_experiment_id: str
    defs: dg.Definitions
    instance: dg.DagsterInstance


@pytest.fixture(scope="module")
def lab_platform(platform_home) -> Iterator[Lab]:
    url = session_postgres_database("hm_experiments")  # before HASHIRAMART_HOME moves: the session's server
    home = world_searchable_tempdir("hm-experiments-")
    tracking_uri = f"sqlite:///{home / 'mlflow.db'}"
    saved = apply_env({
        "HASHIRAMART_HOME": str(home), "HASHIRAMART_POSTGRES_URL": url, "MLFLOW_TRACKING_URI": tracking_uri,
        "HASHIRAMART_MLFLOW_ARTIFACTS": str(home / "artifacts"), **EXPERIMENT_ENV,
    })
    saved_tracking_uri = mlflow_tracking_utils._tracking_uri  # ensure_experiment (and the asset) set it globally
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    instance = dg.DagsterInstance.ephemeral()
    try:
        settings = load_settings()
        experiment_id = ensure_experiment(tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
        yield Lab(engine, MlflowClient(tracking_uri), experiment_id, build_definitions(settings), instance)
    finally:
        _drop_app_schema(engine)
        engine.dispose()
        instance.dispose()
        mlflow.set_tracking_uri(saved_tracking_uri)  # may unset MLFLOW_TRACKING_URI: restore_env puts it back
        restore_env(saved)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def lab(lab_platform: Lab) -> Lab:
    """A clean app schema per test (no experiments, impressions, feedback or audit rows of another test)."""
    _drop_app_schema(lab_platform.engine)
    return lab_platform


def _drop_app_schema(engine: sqlalchemy.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("drop schema if exists app cascade"))


def _register(lab: Lab, ndcg: float, champion_ndcg: float | None = None) -> str:
    """A new version of the recommender whose run logged ``ndcg_at_10`` (and the champion's on its holdout)."""
    client = lab.client
    if not client.search_registered_models(f"name = '{MODEL}'"):
        client.create_registered_model(MODEL)
    run_id = client.create_run(lab.mlflow_experiment_id, run_name="experiment-test").info.run_id
    client.log_metric(run_id, "ndcg_at_10", ndcg)
    if champion_ndcg is not None:
        client.log_metric(run_id, "champion_ndcg_at_10", champion_ndcg)
    client.set_terminated(run_id)
    return str(client.create_model_version(MODEL, f"runs:/{run_id}/model", run_id=run_id).version)


def _champion_and_challenger(lab: Lab, challenger_ndcg: float, champion_ndcg: float = 0.30) -> tuple[str, str]:
    """Two new versions: the first @champion, the second @challenger (set up without audit, as a fixture)."""
    champion = _register(lab, champion_ndcg)
    challenger = _register(lab, challenger_ndcg, champion_ndcg)
    registry.promote(lab.client, MODEL, champion, "test setup")
    registry.mark_challenger(lab.client, MODEL, challenger)
    return champion, challenger


def _start(lab: Lab, challenger: str, champion: str) -> Experiment:
    experiment = store.set_experiment(lab.engine, MODEL, 0.5, challenger, champion, "test")
    assert experiment is not None and experiment.ended_at is None
    return experiment


def _customers(experiment: Experiment, arm: str, count: int) -> list[int]:
    """``count`` customer ids the real hash assignment puts in ``arm`` of this experiment."""
    found: list[int] = []
    customer = 0
    while len(found) < count:
        customer += 1
        if variant(customer, experiment.id, experiment.challenger_share) == arm:
            found.append(customer)
    return found


def _simulate(lab: Lab, experiment: Experiment, arm: str, impressions: int, clicks: int) -> None:
    """``impressions`` answers of 10 items to distinct customers of ``arm``, and ``clicks`` distinct clicked
    (impression, product) pairs attributed to them; plus repeated clicks and an unattributed click, which must
    not count."""
    assert impressions % ITEMS_PER_IMPRESSION == 0 and clicks <= impressions
    version = experiment.challenger_version if arm == CHALLENGER else experiment.champion_version
    answers = impressions // ITEMS_PER_IMPRESSION
    with lab.engine.begin() as conn:
        shown = conn.execute(sqlalchemy.text(
            "insert into app.impressions (customer_id, model_name, experiment_id, variant, model_version, "
            "product_ids, ts) select c, :m, :e, :v, :mv, :p, now() - interval '1 hour' "
            "from unnest(cast(:customers as bigint[])) as c returning id, customer_id"),
            {"m": MODEL, "e": experiment.id, "v": arm, "mv": version, "p": PRODUCTS,
             "customers": _customers(experiment, arm, answers)}).all()
        # rank-major: the first item of every answer, then the second, ...: `clicks` distinct pairs
        pairs = [(row.id, row.customer_id, rank) for rank in range(ITEMS_PER_IMPRESSION) for row in shown][:clicks]
        rows = [{"c": customer, "p": PRODUCTS[rank], "ev": "click", "mv": version, "r": rank + 1, "i": impression,
                 "e": experiment.id, "v": arm} for impression, customer, rank in pairs]
        rows += rows[:5]  # the same clicks again: a (impression, product) pair counts once
        rows.append({**rows[0], "i": None})  # feedback that matched no impression is never attributed
        conn.execute(sqlalchemy.text(
            "insert into app.feedback (customer_id, product_id, event, model_version, rank, impression_id, "
            "experiment_id, variant) values (:c, :p, :ev, :mv, :r, :i, :e, :v)"), rows)


def _tick(lab: Lab) -> dg.SensorResult:
    sensor = lab.defs.resolve_sensor_def(SENSOR)
    with dg.build_sensor_context(instance=lab.instance, definitions=lab.defs) as context:
        return sensor.evaluate_tick(context)


def _run_requested(lab: Lab, experiment: Experiment) -> dg.ExecuteInProcessResult:
    """One sensor tick must request exactly one analysis run of this experiment; execute it in-process."""
    tick = _tick(lab)
    requests = list(tick.run_requests or [])
    assert len(requests) == 1, tick.skip_message
    request = requests[0]
    job_name = request.job_name or lab.defs.resolve_sensor_def(SENSOR).job_name
    assert job_name == EXPERIMENT_JOB
    assert request.tags[EXPERIMENT_TAG] == str(experiment.id)
    assert request.run_key and request.run_key.startswith(f"experiments-{experiment.id}-")
    result = lab.defs.resolve_job_def(job_name).execute_in_process(instance=lab.instance, tags=request.tags)
    assert result.success
    return result


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    materializations = result.asset_materializations_for_node(NODE)
    assert len(materializations) == 1 and materializations[0].asset_key == keys.EXPERIMENT_RESULTS
    return {name: value.value for name, value in materializations[0].metadata.items()}


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK]
    assert len(evaluations) == 1
    return evaluations[0]


def _experiment_now(lab: Lab, experiment_id: int) -> Experiment:
    with lab.engine.connect() as conn:
        found = store.get(conn, experiment_id)
    assert found is not None
    return found


def _alias(lab: Lab, alias: str) -> str | None:
    version = registry.champion(lab.client, MODEL) if alias == CHAMPION else registry.challenger(lab.client, MODEL)
    return None if version is None else str(version.version)


def test_the_sensor_promotes_a_significantly_better_challenger_on_simulated_feedback(lab: Lab):
    champion, challenger = _champion_and_challenger(lab, challenger_ndcg=0.31)
    experiment = _start(lab, challenger, champion)
    _simulate(lab, experiment, CHAMPION, impressions=3000, clicks=300)
    _simulate(lab, experiment, CHALLENGER, impressions=3000, clicks=450)

    result = _run_requested(lab, experiment)
    actor = f"dagster:{result.run_id} monitoring/experiment_results"

    metadata = _metadata(result)
    assert metadata["decision"] == "promote"
    assert metadata["experiment_id"] == experiment.id
    assert (metadata["champion_impressions"], metadata["champion_clicks"]) == (3000, 300)
    assert (metadata["challenger_impressions"], metadata["challenger_clicks"]) == (3000, 450)
    assert metadata["champion_ctr"] == pytest.approx(0.10)
    assert metadata["challenger_ctr"] == pytest.approx(0.15)
    assert metadata["ctr_difference"] == pytest.approx(0.05)
    assert metadata["p_value"] < 0.05
    assert metadata["ctr_difference_ci_low"] > 0
    assert metadata["min_sample_size"] == 1000
    assert metadata["offline_challenger_ndcg_at_10"] == pytest.approx(0.31)
    assert metadata["offline_champion_ndcg_at_10"] == pytest.approx(0.30)
    assert metadata["offline_source"] == "champion refitted on the challenger's holdout"
    assert str(metadata["outcome"]).startswith(f"promoted v{challenger} to champion")
    check = _check(result)
    assert check.passed and "significantly better" in (check.description or "")

    # the registry: the challenger is champion, the challenger alias is gone, the promotion says why
    assert _alias(lab, CHAMPION) == challenger
    assert _alias(lab, CHALLENGER) is None
    promoted = lab.client.get_model_version(MODEL, challenger)
    assert promoted.tags["previous_champion"] == champion
    assert promoted.tags["promotion_reason"].startswith(f"online experiment {experiment.id}: ")

    ended = _experiment_now(lab, experiment.id)
    assert ended.ended_at is not None and ended.ended_by == actor
    assert "significantly better" in (ended.end_reason or "")
    assert (ended.end_reason or "").startswith(f"promoted v{challenger} to champion")

    # the audit trail: both alias moves, as done by this Dagster run, naming the online experiment
    moves = [(r.alias, r.from_version, r.to_version, r.actor) for r in audit.history(lab.engine, MODEL)]
    assert moves == [(CHAMPION, champion, challenger, actor), (CHALLENGER, challenger, None, actor)]
    champion_move = audit.history(lab.engine, MODEL)[0]
    assert champion_move.actor.startswith("dagster:")
    assert f"online experiment {experiment.id}" in champion_move.reason
    assert "significantly better" in champion_move.reason

    # nothing runs any more: the next tick skips
    again = _tick(lab)
    assert not again.run_requests
    assert again.skip_message == "no online experiment is running"


def test_the_sensor_retires_a_significantly_worse_challenger_on_simulated_feedback(lab: Lab):
    champion, challenger = _champion_and_challenger(lab, challenger_ndcg=0.305)
    experiment = _start(lab, challenger, champion)
    _simulate(lab, experiment, CHAMPION, impressions=3000, clicks=300)
    _simulate(lab, experiment, CHALLENGER, impressions=3000, clicks=150)

    result = _run_requested(lab, experiment)
    actor = f"dagster:{result.run_id} monitoring/experiment_results"

    metadata = _metadata(result)
    assert metadata["decision"] == "retire"
    assert metadata["challenger_ctr"] == pytest.approx(0.05)
    assert metadata["champion_ctr"] == pytest.approx(0.10)
    assert metadata["p_value"] < 0.05 and metadata["ctr_difference_ci_high"] < 0
    assert str(metadata["outcome"]).startswith(f"retired challenger v{challenger}")
    check = _check(result)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "significantly worse" in (check.description or "")

    # the champion serves on; the challenger lost its alias and its version says why
    assert _alias(lab, CHAMPION) == champion
    assert _alias(lab, CHALLENGER) is None
    retired = lab.client.get_model_version(MODEL, challenger)
    assert "significantly worse" in retired.tags["retired_reason"]
    assert retired.tags["retired_reason"].startswith(f"online experiment {experiment.id}: ")

    ended = _experiment_now(lab, experiment.id)
    assert ended.ended_at is not None and ended.ended_by == actor
    assert "significantly worse" in (ended.end_reason or "")

    trail = audit.history(lab.engine, MODEL)
    assert [(r.alias, r.from_version, r.to_version, r.actor) for r in trail] == [
        (CHALLENGER, challenger, None, actor)]
    assert f"v{challenger} -> (removed)" in trail[0].line()

    again = _tick(lab)
    assert not again.run_requests and again.skip_message == "no online experiment is running"


def test_too_few_impressions_leave_everything_as_it_is(lab: Lab):
    champion, challenger = _champion_and_challenger(lab, challenger_ndcg=0.31)
    experiment = _start(lab, challenger, champion)
    # a large difference in CTR (0.10 vs 0.40), but 200 impressions per variant of the 1,000 needed
    _simulate(lab, experiment, CHAMPION, impressions=200, clicks=20)
    _simulate(lab, experiment, CHALLENGER, impressions=200, clicks=80)

    result = _run_requested(lab, experiment)

    metadata = _metadata(result)
    assert metadata["decision"] == "continue"
    assert (metadata["champion_impressions"], metadata["challenger_impressions"]) == (200, 200)
    assert "not enough impressions yet (200 of 1000 per variant)" in str(metadata["reason"])
    assert metadata["outcome"] == metadata["reason"]  # nothing was carried out
    assert _check(result).passed

    assert (_alias(lab, CHAMPION), _alias(lab, CHALLENGER)) == (champion, challenger)
    assert "retired_reason" not in lab.client.get_model_version(MODEL, challenger).tags
    still = _experiment_now(lab, experiment.id)
    assert still.ended_at is None and still.end_reason is None
    assert audit.history(lab.engine, MODEL) == []

    # the experiment still runs: the next tick asks again (same period, same run key: the daemon runs it once)
    again = list(_tick(lab).run_requests or [])
    assert len(again) == 1 and again[0].tags[EXPERIMENT_TAG] == str(experiment.id)
