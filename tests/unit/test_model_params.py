"""Both models' hyperparameters are defined once: the Dagster asset configs inherit the parameter records, and
unknown keys are refused the same way by both, in code, in saved params and in a Dagster run config."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import dagster as dg
import pytest

from hashiramart_assets.assets.models import (
    ForecasterConfig,
    RecommenderConfig,
    recommender,
    sales_forecaster,
)
from hashiramart_assets.ml.forecast.params import LEGACY_VALUES, ForecasterParams
from hashiramart_assets.ml.params import ModelParams
from hashiramart_assets.ml.recommender.params import RecommenderParams

MODELS = [(ForecasterParams, ForecasterConfig, sales_forecaster), (RecommenderParams, RecommenderConfig, recommender)]
ASSET_ONLY = {ForecasterConfig: {"grains", "max_wape", "min_interval_coverage", "max_interval_coverage"},
              RecommenderConfig: {"min_ndcg_at_10", "min_coverage", "min_segment_ratio"}}
# The defaults an asset config changes, explicitly (see ForecasterConfig): all others are the params' own
ASSET_DEFAULTS: dict[Any, dict[str, Any]] = {ForecasterConfig: {"feature_set": 1}, RecommenderConfig: {}}
# A champion saved before feature set 2 (the params.json / params_json tag of that version, exactly)
FEATURE_SET_1 = {"horizon": 28, "num_leaves": 31, "learning_rate": 0.1, "n_estimators": 150, "min_data_in_leaf": 20,
                 "feature_fraction": 0.8, "lambda_l2": 1.0, "objective": "tweedie", "tweedie_variance_power": 1.2,
                 "quantiles": [0.1, 0.9], "seed": 42, "num_threads": 2}


@pytest.mark.parametrize(("params_cls", "config_cls", "asset"), MODELS)
def test_the_asset_config_is_the_params_plus_its_own_settings(params_cls: type[ModelParams], config_cls: Any,
                                                               asset: dg.AssetsDefinition) -> None:
    assert issubclass(config_cls, params_cls) and issubclass(config_cls, dg.Config)
    assert set(config_cls.model_fields) == set(params_cls.model_fields) | ASSET_ONLY[config_cls]
    defaults = params_cls(**ASSET_DEFAULTS[config_cls])
    config = config_cls()
    assert config.params() == defaults and type(config.params()) is params_cls
    # the schema Dagster shows (launchpad) has every hyperparameter, with the params' own defaults
    fields = asset.op.config_schema.config_type.fields
    assert set(params_cls.model_fields) <= set(fields)
    assert {name: fields[name].default_value for name in params_cls.model_fields} == defaults.to_dict()
    changed = config_cls(seed=7).params()
    assert changed == defaults.replace(seed=7) != defaults


def test_the_forecaster_asset_trains_what_it_did_before() -> None:
    """The old config copied 11 fields and from_dict filled the rest, feature_set with its legacy value 1."""
    copied = ("horizon", "num_leaves", "learning_rate", "n_estimators", "min_data_in_leaf", "feature_fraction",
              "objective", "target_transform", "backtest_windows", "short_horizons", "seed")
    config = ForecasterConfig()
    assert config.params() == ForecasterParams.from_dict({name: getattr(config, name) for name in copied})
    assert ForecasterConfig(feature_set=2).params() == ForecasterParams()  # the ml default, one setting away
    with pytest.raises(ValueError, match="feature_set"):  # the override keeps the range
        ForecasterConfig(feature_set=3)


@pytest.mark.parametrize("params_cls", [ForecasterParams, RecommenderParams])
def test_unknown_keys_are_refused_the_same_way_naming_the_key_and_the_known_ones(params_cls: type[ModelParams]) -> None:
    saved = params_cls().to_dict()
    for build in (lambda: params_cls.from_dict({**saved, "num_leafs": 8}), lambda: params_cls(num_leafs=8),
                  lambda: params_cls().replace(num_leafs=8)):
        with pytest.raises(ValueError, match=r"unknown \w+Params parameter\(s\) \['num_leafs'\]; known: \[") as err:
            build()
        assert all(repr(name) in str(err.value) for name in params_cls.model_fields)


def test_saved_params_round_trip_including_mlflow_strings() -> None:
    forecaster = ForecasterParams(horizon=14, objective="poisson", quantiles=[0.05, 0.95], short_horizons=[3, 7])
    assert ForecasterParams.from_dict(json.loads(json.dumps(forecaster.to_dict()))) == forecaster
    rec = RecommenderParams(als_weighting="bm25", factors=8, bm25_b=0.5)
    assert RecommenderParams.from_dict({k: str(v) for k, v in rec.to_dict().items()}) == rec


def test_a_feature_set_1_champion_loads_with_the_values_it_was_trained_with() -> None:
    params = ForecasterParams.from_dict(FEATURE_SET_1)
    assert {k: getattr(params, k) for k in LEGACY_VALUES} == LEGACY_VALUES
    assert params.model_horizons() == (28,) and params.resolved and params.feature_set == 1
    new = ForecasterParams()
    assert (new.feature_set, new.backtest_windows, new.short_horizons, new.objective) == (2, 3, [7], "auto")
    assert not new.resolved
    with pytest.raises(ValueError, match="made_up"):  # legacy values fill gaps only: unknown keys still fail
        ForecasterParams.from_dict({**FEATURE_SET_1, "made_up": 1})


def test_renamed_and_removed_keys_of_old_saves_are_mapped_explicitly() -> None:
    class Renamed(ModelParams):  # as a record would declare a rename / removal once it has one
        LEGACY_RENAMED: ClassVar[dict[str, str]] = {"leafs": "leaves"}
        LEGACY_REMOVED: ClassVar[frozenset[str]] = frozenset({"gone"})
        leaves: int = 3

    assert Renamed.from_dict({"leafs": 5, "gone": True}) == Renamed(leaves=5)
    with pytest.raises(ValueError, match="other"):
        Renamed.from_dict({"leafs": 5, "other": 1})
    with pytest.raises(ValueError, match="gone"):  # only old saves go through the legacy mapping
        Renamed(gone=True)


@pytest.mark.parametrize(("params", "message"), [
    ({"horizon": 0}, "horizon"), ({"objective": "mae-ish"}, "objective"), ({"quantiles": [0.9, 0.1]}, "quantiles"),
    ({"quantiles": [0.1, 0.5, 0.9]}, "quantiles"), ({"short_horizons": [0]}, "short_horizons"),
    ({"feature_set": 3}, "feature_set"), ({"num_leaves": 1}, "num_leaves"), ({"target_transform": "log"}, "target"),
])
def test_forecaster_ranges(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ForecasterParams(**params)
    with pytest.raises(ValueError, match=message):
        ForecasterConfig(**params)


def test_params_are_frozen() -> None:
    params = ForecasterParams()
    with pytest.raises(ValueError, match="frozen"):
        params.horizon = 7  # type: ignore[misc]
    assert params.replace(horizon=7).horizon == 7 and params.horizon == 28


@pytest.mark.parametrize(("asset", "good", "bad", "error"), [
    (sales_forecaster, {"short_horizons": [3], "grains": ["category"]}, {"num_leafs": 8},
     'unexpected config entry "num_leafs"'),
    (recommender, {"factors": 8, "min_coverage": 0.1}, {"factorz": 8}, 'unexpected config entry "factorz"'),
    (sales_forecaster, {"objective": "poisson"}, {"objective": "mae-ish"}, "objective"),
])
def test_a_run_config_with_an_unknown_or_invalid_field_fails_validation(
        asset: dg.AssetsDefinition, good: dict[str, Any], bad: dict[str, Any], error: str) -> None:
    resources = {key: dg.ResourceDefinition.none_resource() for key in asset.required_resource_keys - {"io_manager"}}
    job = dg.Definitions(assets=[asset], resources=resources).resolve_implicit_global_asset_job_def()
    assert dg.validate_run_config(job, {"ops": {asset.op.name: {"config": good}}})
    with pytest.raises(dg.DagsterInvalidConfigError, match=error):
        dg.validate_run_config(job, {"ops": {asset.op.name: {"config": {**good, **bad}}}})
