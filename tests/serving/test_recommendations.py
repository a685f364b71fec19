"""Recommendations over HTTP from the real champion, and the fast path against the model's own ranking."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from hashiramart_assets.ml import registry
from serving.recommend import FastRecommender
from tests.serving.conftest import new_customer


@pytest.fixture(scope="module")
def champion_model(world):
    mlflow.set_tracking_uri(world.tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{registry.RECOMMENDER}@champion").unwrap_python_model().model


def test_fast_path_ranks_exactly_like_the_model(champion_model, world):
    fast = FastRecommender(champion_model)
    known = [int(c) for c in champion_model.fitted.customer_ids[:40]]
    for exclude in (False, True):
        for k in (1, 5, 10):
            expected = champion_model.recommend([*known, 999999999], k=k, exclude_purchased=exclude)
            for customer_id, group in expected.groupby("customer_id", sort=False):
                items, fallback = fast.recommend(int(customer_id), k, exclude)
                assert fallback == bool(group["is_fallback"].iloc[0])
                assert [i.product_id for i in items] == group["product_id"].tolist()
                assert [i.source for i in items] == group["source"].tolist()
                # one-row vs block float32 matmul: equal to float32 rounding
                np.testing.assert_allclose([i.score for i in items], group["score"].to_numpy(), rtol=1e-6)


def test_recommend_known_unknown_and_exclusion(app_client, admin_headers, champion_model, world):
    known = int(champion_model.fitted.customer_ids[0])
    response = app_client.post("/recommend", json={"customer_id": known, "k": 5}, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == known and not body["is_fallback"] and body["model_version"] == "1"
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4, 5]
    expected = champion_model.recommend([known], k=5)
    assert [i["product_id"] for i in body["items"]] == expected["product_id"].tolist()
    bought = set(world.orders.loc[(world.orders["customer_id"] == known) & ~world.orders["is_return"], "product_id"])
    excluded = app_client.post("/recommend", json={"customer_id": known, "k": 10, "exclude_purchased": True},
                               headers=admin_headers).json()
    assert bought and not bought & {i["product_id"] for i in excluded["items"]}
    unknown = app_client.post("/recommend", json={"customer_id": 123_456_789}, headers=admin_headers).json()
    assert unknown["is_fallback"] and len(unknown["items"]) == 10
    assert {i["source"] for i in unknown["items"]} == {"popular"}


def test_recommend_errors(app_client, admin_headers):
    for body in ({}, {"customer_id": 0}, {"customer_id": "x"}, {"customer_id": 1, "k": 0}, {"customer_id": 1, "k": 101},
                 {"customer_id": 1, "extra": True}, {"customer_id": 2**63}):
        assert app_client.post("/recommend", json=body, headers=admin_headers).status_code == 422, body
    assert app_client.post("/recommend", content=b"{not json", headers={**admin_headers,
                           "content-type": "application/json"}).status_code == 422
    assert app_client.post("/recommend", json={"customer_id": 1}).status_code == 401


def test_customers_get_their_own_recommendations_only(app_client, champion_model):
    known = int(champion_model.fitted.customer_ids[3])
    headers, _user = new_customer(app_client, known)
    mine = app_client.get("/recommendations/me", params={"k": 3}, headers=headers)
    assert mine.status_code == 200 and mine.json()["customer_id"] == known and not mine.json()["is_fallback"]
    assert len(mine.json()["items"]) == 3
    same = app_client.post("/recommend", json={"customer_id": known, "k": 3}, headers=headers).json()
    assert same == mine.json()
    other = app_client.post("/recommend", json={"customer_id": known + 1}, headers=headers)
    assert other.status_code == 403
    new_headers, new_user = new_customer(app_client)
    cold = app_client.get("/recommendations/me", headers=new_headers).json()
    assert cold["is_fallback"] and cold["customer_id"] == new_user["customer_id"]
    assert app_client.get("/recommendations/me", params={"k": 0}, headers=headers).status_code == 422
    assert app_client.get("/recommendations/me").status_code == 401


def test_admin_without_customer_id_has_no_personal_recommendations(app_client, admin_headers):
    response = app_client.get("/recommendations/me", headers=admin_headers)
    assert response.status_code == 404 and "customer id" in response.json()["detail"]
