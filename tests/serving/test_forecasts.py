"""Forecasts served from memory match the champion forecaster's own predictions."""

from __future__ import annotations

from datetime import date, timedelta

import mlflow
import pandas as pd
import pytest

from hashiramart_assets.ml import registry
from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.forecast.persistence import load_forecaster
from tests.serving.conftest import new_customer


@pytest.fixture(scope="module")
def expected(world, tmp_path_factory):
    version = registry.champion(world.client, registry.FORECASTER)
    local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="forecaster",
                                                dst_path=str(tmp_path_factory.mktemp("fc")),
                                                tracking_uri=world.tracking_uri)
    forecaster = load_forecaster(local)
    return forecaster.predict(history_from_daily_sales(world.daily_sales), 7)


def test_product_and_category_forecasts(app_client, world, expected):
    headers, _ = new_customer(app_client)
    product = str(world.products["product_id"].iloc[0])
    response = app_client.get("/forecasts/sales", params={"product_id": product}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["series_id"] == f"product:{product}" and body["model_version"] == "1" and len(body["points"]) == 7
    want = expected[expected["series_id"] == f"product:{product}"].sort_values("date")
    got = pd.DataFrame(body["points"])
    assert got["date"].tolist() == [d.date().isoformat() for d in want["date"]]
    assert got["forecast"].round(9).tolist() == want["forecast"].round(9).tolist()
    assert (got["lower"] <= got["forecast"]).all() and (got["forecast"] <= got["upper"]).all()
    last = date.fromisoformat(body["history_end"])
    assert body["points"][0]["date"] == (last + timedelta(days=1)).isoformat()
    category = str(world.products["category"].iloc[0])
    cat = app_client.get("/forecasts/sales", params={"category": category, "horizon": 3}, headers=headers).json()
    assert cat["grain"] == "category" and len(cat["points"]) == 3
    start = (last + timedelta(days=3)).isoformat()
    later = app_client.get("/forecasts/sales", params={"product_id": product, "start": start, "horizon": 2},
                           headers=headers).json()
    assert [p["date"] for p in later["points"]] == [p["date"] for p in body["points"][2:4]]
    tail = app_client.get("/forecasts/sales", params={"product_id": product, "start": body["points"][-1]["date"]},
                          headers=headers).json()
    assert len(tail["points"]) == 1


def test_forecast_errors(app_client, world):
    headers, _ = new_customer(app_client)
    product = str(world.products["product_id"].iloc[0])
    get = app_client.get
    assert get("/forecasts/sales", params={"product_id": product}).status_code == 401
    assert get("/forecasts/sales", headers=headers).status_code == 422
    assert get("/forecasts/sales", params={"product_id": product, "category": "x"}, headers=headers).status_code == 422
    missing = get("/forecasts/sales", params={"product_id": "NO-SUCH"}, headers=headers)
    assert missing.status_code == 404 and "NO-SUCH" in missing.json()["detail"]
    assert get("/forecasts/sales", params={"category": "Nope"}, headers=headers).status_code == 404
    too_long = get("/forecasts/sales", params={"product_id": product, "horizon": 8}, headers=headers)
    assert too_long.status_code == 422 and "at most 7" in too_long.json()["detail"]
    assert get("/forecasts/sales", params={"product_id": product, "horizon": 0}, headers=headers).status_code == 422
    early = get("/forecasts/sales", params={"product_id": product, "start": "2000-01-01"}, headers=headers)
    assert early.status_code == 422 and "start must be between" in early.json()["detail"]
    assert get("/forecasts/sales", params={"product_id": product, "start": "nope"}, headers=headers).status_code == 422
