"""Feedback rows land in app.feedback for the CTR monitor; /health, /ready and /metrics report the truth."""

from __future__ import annotations

import pandas as pd
import sqlalchemy

from tests.serving.conftest import new_customer


def _feedback(world, customer_id: int) -> pd.DataFrame:
    engine = sqlalchemy.create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sqlalchemy.text("select * from app.feedback where customer_id = :c order by id"), conn,
                               params={"c": customer_id})
    finally:
        engine.dispose()


def test_feedback_is_stored_with_the_serving_model_version(app_client, admin_headers, world):
    headers, user = new_customer(app_client)
    product = str(world.products["product_id"].iloc[1])
    for event in ("impression", "click", "purchase"):
        response = app_client.post("/feedback", json={"product_id": product, "event": event, "rank": 2},
                                   headers=headers)
        assert response.status_code == 201, response.text
    explicit = app_client.post("/feedback", json={"product_id": product, "event": "click", "model_version": "7"},
                               headers=headers)
    assert explicit.json()["model_version"] == "7"
    rows = _feedback(world, user["customer_id"])
    assert rows["event"].tolist() == ["impression", "click", "purchase", "click"]
    assert rows["model_version"].tolist() == ["1", "1", "1", "7"]
    assert set(rows.columns) >= {"customer_id", "product_id", "event", "model_version", "ts", "rank"}
    assert rows["ts"].notna().all()
    by_admin = app_client.post("/feedback", json={"product_id": product, "event": "click",
                                                  "customer_id": user["customer_id"]}, headers=admin_headers)
    assert by_admin.status_code == 201 and len(_feedback(world, user["customer_id"])) == 5


def test_feedback_errors(app_client, admin_headers, world):
    headers, user = new_customer(app_client)
    product = str(world.products["product_id"].iloc[1])
    post = app_client.post
    assert post("/feedback", json={"product_id": product, "event": "click"}).status_code == 401
    assert post("/feedback", json={"product_id": "NOPE-1", "event": "click"}, headers=headers).status_code == 404
    assert post("/feedback", json={"product_id": product, "event": "like"}, headers=headers).status_code == 422
    assert post("/feedback", json={"product_id": product, "event": "click", "customer_id": user["customer_id"] + 1},
                headers=headers).status_code == 403
    assert post("/feedback", json={"product_id": product, "event": "click"}, headers=admin_headers).status_code == 422


def test_health_ready_and_metrics(app_client, admin_headers):
    assert app_client.get("/health").json() == {"status": "ok"}
    ready = app_client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["database"]["reachable"]
    assert body["models"]["hashiramart-recommender"]["version"] == "1"
    assert body["models"]["hashiramart-sales-forecaster"]["forecasts"] is True
    app_client.post("/recommend", json={"customer_id": 1}, headers=admin_headers)
    text = app_client.get("/metrics").text
    assert 'hashiramart_http_requests_total{method="POST",route="/recommend",status="200"}' in text
    assert 'hashiramart_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/recommend"}' in text
    assert 'hashiramart_model_info{model="hashiramart-recommender",run_id=' in text
    assert 'hashiramart_model_reloads_total{model="hashiramart-sales-forecaster",outcome="success"} 1.0' in text
    app_client.get("/products/HM-000001")
    assert 'route="/products/{product_id}"' in app_client.get("/metrics").text


def test_openapi_docs(app_client):
    assert app_client.get("/docs").status_code == 200
    paths = app_client.get("/openapi.json").json()["paths"]
    for path in ("/auth/token", "/users", "/users/me", "/products", "/products/{product_id}", "/recommendations/me",
                 "/recommend", "/forecasts/sales", "/feedback", "/health", "/ready", "/metrics",
                 "/admin/reload-models", "/jobs/training/{model}", "/jobs/{run_id}"):
        assert path in paths, path
