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


def test_feedback_is_attributed_to_the_impression_the_api_recorded(app_client, admin_headers, world):
    headers, user = new_customer(app_client)
    answer = app_client.get("/recommendations/me", params={"k": 5}, headers=headers).json()
    assert answer["variant"] == "champion" and answer["model_version"] == "1"
    product = answer["items"][1]["product_id"]
    for event in ("click", "purchase"):
        response = app_client.post("/feedback", json={"product_id": product, "event": event}, headers=headers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["variant"], body["model_version"], body["rank"]) == ("champion", "1", 2)
        assert body["impression_id"] is not None
    # the client's version and rank are not trusted: the recorded impression's are stored
    explicit = app_client.post("/feedback", json={"product_id": product, "event": "click", "model_version": "7",
                                                  "rank": 9}, headers=headers)
    assert explicit.status_code == 201 and (explicit.json()["model_version"], explicit.json()["rank"]) == ("1", 2)
    rows = _feedback(world, user["customer_id"])
    assert rows["event"].tolist() == ["click", "purchase", "click"]
    assert rows["model_version"].tolist() == ["1", "1", "1"] and set(rows["variant"]) == {"champion"}
    assert rows["ts"].notna().all() and rows["impression_id"].nunique() == 1
    by_admin = app_client.post("/feedback", json={"product_id": product, "event": "click",
                                                  "customer_id": user["customer_id"]}, headers=admin_headers)
    assert by_admin.status_code == 201 and len(_feedback(world, user["customer_id"])) == 4


def _rejected(world, customer_id: int) -> list[str]:
    engine = sqlalchemy.create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sqlalchemy.text("select reason from app.feedback_rejected where customer_id = :c "
                                                     "order by id"), {"c": customer_id}).scalars())
    finally:
        engine.dispose()


def test_feedback_errors_are_rejected_kept_and_counted(app_client, admin_headers, world):
    headers, user = new_customer(app_client)
    shown = {i["product_id"] for i in app_client.get("/recommendations/me", headers=headers).json()["items"]}
    never_shown = next(p for p in world.products["product_id"].astype(str) if p not in shown)
    product = sorted(shown)[0]
    post = app_client.post
    assert post("/feedback", json={"product_id": product, "event": "click"}).status_code == 401
    assert post("/feedback", json={"product_id": "NOPE-1", "event": "click"}, headers=headers).status_code == 404
    assert post("/feedback", json={"product_id": product, "event": "like"}, headers=headers).status_code == 422
    assert post("/feedback", json={"product_id": product, "event": "click", "customer_id": user["customer_id"] + 1},
                headers=headers).status_code == 403
    assert post("/feedback", json={"product_id": product, "event": "click"}, headers=admin_headers).status_code == 422
    not_shown = post("/feedback", json={"product_id": never_shown, "event": "click"}, headers=headers)
    assert not_shown.status_code == 422 and "was not recommended to customer" in not_shown.json()["detail"]
    impression = post("/feedback", json={"product_id": product, "event": "impression"}, headers=headers)
    assert impression.status_code == 422 and "recorded by the API" in impression.json()["detail"]
    # someone else's impression does not count for this customer either
    other_headers, other = new_customer(app_client)
    assert post("/feedback", json={"product_id": product, "event": "click"}, headers=other_headers).status_code == 422
    assert _rejected(world, user["customer_id"]) == ["unknown_product", "not_shown", "impression_from_client"]
    assert _rejected(world, other["customer_id"]) == ["not_shown"]
    assert _feedback(world, user["customer_id"]).empty
    metrics = app_client.get("/metrics").text
    for reason in ("not_shown", "unknown_product", "impression_from_client"):
        assert f'hashiramart_feedback_rejected_total{{reason="{reason}"}}' in metrics


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
