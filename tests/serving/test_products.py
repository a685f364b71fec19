"""The product catalogue: seeded from the landing zone, paging, category filter, admin-only writes."""

from __future__ import annotations

from tests.serving.conftest import new_customer


def test_catalogue_is_seeded_and_paged(app_client, world):
    everything = app_client.get("/products", params={"limit": 500}).json()
    listed = [p["product_id"] for p in everything["items"]]
    # seeded from the landing zone (other tests may have added products since)
    assert set(world.products["product_id"]) <= set(listed) and listed == sorted(listed)
    assert everything["total"] == len(listed)
    first = app_client.get("/products", params={"limit": 5})
    assert first.status_code == 200
    assert [p["product_id"] for p in first.json()["items"]] == listed[:5] and first.json()["total"] == len(listed)
    second = app_client.get("/products", params={"limit": 5, "offset": 5}).json()
    assert [p["product_id"] for p in second["items"]] == listed[5:10]
    category = world.products["category"].iloc[0]
    filtered = app_client.get("/products", params={"category": category, "limit": 500}).json()
    assert filtered["total"] == sum(p["category"] == category for p in everything["items"]) > 0
    assert {p["category"] for p in filtered["items"]} == {category}
    assert app_client.get("/products", params={"category": "no-such-category"}).json()["total"] == 0
    one = world.products.iloc[3]
    got = app_client.get(f"/products/{one['product_id']}").json()
    assert got["name"] == one["name"] and abs(got["base_price"] - float(one["base_price"])) < 0.005


def test_paging_validation(app_client):
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "x"}, {"category": ""},
                   {"category": "a\x00b"}):
        assert app_client.get("/products", params=params).status_code == 422, params


def test_admin_crud_and_errors(app_client, admin_headers):
    body = {"product_id": "TEST-CRUD-1", "name": "Test Tea", "department": "Food", "category": "Tea",
            "category_path": "Food > Tea", "base_price": 3.5, "launch_date": "2025-02-01"}
    created = app_client.post("/products", json=body, headers=admin_headers)
    assert created.status_code == 201 and created.json() == body
    assert app_client.post("/products", json=body, headers=admin_headers).status_code == 409
    update = {k: v for k, v in body.items() if k != "product_id"} | {"name": "Better Tea", "base_price": 4.25}
    put = app_client.put("/products/TEST-CRUD-1", json=update, headers=admin_headers)
    assert put.status_code == 200 and put.json()["name"] == "Better Tea" and put.json()["base_price"] == 4.25
    assert app_client.get("/products/TEST-CRUD-1").json()["name"] == "Better Tea"
    assert app_client.put("/products/NOPE-404", json=update, headers=admin_headers).status_code == 404
    assert app_client.delete("/products/TEST-CRUD-1", headers=admin_headers).status_code == 204
    assert app_client.get("/products/TEST-CRUD-1").status_code == 404
    assert app_client.delete("/products/TEST-CRUD-1", headers=admin_headers).status_code == 404
    for bad in ({**body, "base_price": -1}, {**body, "name": ""}, {**body, "product_id": "has space"},
                {**body, "unknown": 1}, {k: v for k, v in body.items() if k != "name"}):
        assert app_client.post("/products", json=bad, headers=admin_headers).status_code == 422, bad
    assert app_client.get("/products/bad%20id").status_code == 422


def test_writes_need_the_admin_role(app_client):
    customer, _ = new_customer(app_client)
    body = {"product_id": "TEST-NOPE", "name": "x", "base_price": 1}
    assert app_client.post("/products", json=body).status_code == 401
    assert app_client.post("/products", json=body, headers=customer).status_code == 403
    put = app_client.put("/products/TEST-NOPE", json={"name": "x", "base_price": 1}, headers=customer)
    assert put.status_code == 403
    assert app_client.delete("/products/TEST-NOPE", headers=customer).status_code == 403
