"""Global LightGBM sales forecaster with a last-window backtest, as plain functions (no Dagster here).

Modules, one job each: ``columns`` (the history contract), ``parsing`` (messy cells to values),
``loading`` (a file to a history, bad rows accounted for), ``history`` (gap filling), ``mart``
(marts.daily_sales to a history), ``features`` (leak-free direct-horizon features), ``params``,
``model`` (train / predict), ``baseline`` (seasonal naive), ``metrics``, ``backtest``, ``persistence``
(save / load, MLflow input example).
"""

from hashiramart_assets.ml.forecast.backtest import BacktestResult, backtest, run_backtest_file
from hashiramart_assets.ml.forecast.baseline import seasonal_naive
from hashiramart_assets.ml.forecast.features import build_features, feature_columns
from hashiramart_assets.ml.forecast.history import prepare_history
from hashiramart_assets.ml.forecast.loading import LoadedHistory, LoadReport, load_sales_history
from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.forecast.metrics import interval_coverage, mape_nonzero, rmse, rmspe, wape
from hashiramart_assets.ml.forecast.model import SalesForecaster, predict, train
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.forecast.persistence import (
    feature_frame_example,
    load_forecaster,
    model_signature,
    save_forecaster,
    save_quantile_models,
)

__all__ = [
    "BacktestResult", "ForecasterParams", "LoadReport", "LoadedHistory", "SalesForecaster", "backtest",
    "build_features", "feature_columns", "feature_frame_example", "history_from_daily_sales",
    "interval_coverage", "load_forecaster", "load_sales_history", "mape_nonzero", "model_signature", "predict",
    "prepare_history", "rmse", "rmspe", "run_backtest_file", "save_forecaster", "save_quantile_models",
    "seasonal_naive", "train", "wape",
]
