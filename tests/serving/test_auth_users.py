"""Sign-up, login, tokens and roles against the real app database."""

from __future__ import annotations

import time

import jwt
import pytest
import sqlalchemy

from hashiramart_assets.settings import load_settings
from serving.config import UnsafeConfiguration, check_serving_settings
from serving.security import hash_password, verify_password
from tests.serving.conftest import JWT_SECRET, login, new_customer


def test_signup_login_and_me(app_client, world):
    existing = int(world.customers["customer_id"].iloc[0])
    headers, user = new_customer(app_client, existing)
    assert user["role"] == "customer" and user["customer_id"] == existing
    me = app_client.get("/users/me", headers=headers)
    assert me.status_code == 200 and me.json() == user
    # without a customer id the user gets a new one, far from the shop's ids (cold start)
    _, fresh = new_customer(app_client)
    assert fresh["customer_id"] >= 1_000_000_000


def test_passwords_are_argon2_hashed_in_the_database(app_client, world):
    _, user = new_customer(app_client)
    engine = sqlalchemy.create_engine(world.database_url)
    with engine.connect() as conn:
        stored = conn.execute(sqlalchemy.text("select password_hash from app.users where id = :i"),
                              {"i": user["id"]}).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert verify_password(stored, "correct horse battery") and not verify_password(stored, "wrong")
    assert not verify_password("not-a-hash", "x") and verify_password(hash_password("p"), "p")


def test_only_an_admin_links_an_existing_customer_id(app_client, world, admin_headers):
    existing = int(world.customers["customer_id"].iloc[1])
    body = {"username": "claims_someone", "password": "long enough", "customer_id": existing}
    anonymous = app_client.post("/users", json=body)
    assert anonymous.status_code == 403 and "admin" in anonymous.json()["detail"]
    customer, _ = new_customer(app_client)
    assert app_client.post("/users", json=body, headers=customer).status_code == 403
    bad_token = app_client.post("/users", json=body, headers={"Authorization": "Bearer not.a.token"})
    assert bad_token.status_code == 401
    linked = app_client.post("/users", json=body, headers=admin_headers)
    assert linked.status_code == 201 and linked.json()["customer_id"] == existing
    assert linked.json()["role"] == "customer"


def test_signup_conflicts_and_validation(app_client, world, admin_headers):
    _, user = new_customer(app_client)
    again = app_client.post("/users", json={"username": user["username"], "password": "another password"})
    assert again.status_code == 409 and "username" in again.json()["detail"]
    taken = app_client.post("/users", json={"username": "someone_else_x", "password": "another password",
                                            "customer_id": user["customer_id"]}, headers=admin_headers)
    assert taken.status_code == 409 and "customer id" in taken.json()["detail"]
    for bad in ({"username": "ab", "password": "long enough"}, {"username": "okname", "password": "short"},
                {"username": "bad name!", "password": "long enough"},
                {"username": "okname2", "password": "long enough", "customer_id": 0},
                {"username": "okname3", "password": "long enough", "role": "admin"}):
        response = app_client.post("/users", json=bad)
        assert response.status_code == 422, (bad, response.text)


def test_login_failures_and_token_errors(app_client):
    assert app_client.post("/auth/token", data={"username": "admin", "password": "wrong"}).status_code == 401
    assert app_client.post("/auth/token", data={"username": "nobody", "password": "x"}).status_code == 401
    assert app_client.post("/auth/token", data={"username": "admin"}).status_code == 422
    assert app_client.get("/users/me").status_code == 401
    garbage = app_client.get("/users/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401 and garbage.headers["www-authenticate"] == "Bearer"
    now = int(time.time())
    claims = {"sub": "admin", "uid": 1, "role": "admin", "cid": None, "iat": now - 100, "exp": now - 10}
    expired = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert app_client.get("/users/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    forged = jwt.encode({**claims, "exp": now + 600}, "another-secret-of-sufficient-length!", algorithm="HS256")
    assert app_client.get("/users/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_admin_bootstrap_and_roles(app_client, admin_headers):
    me = app_client.get("/users/me", headers=admin_headers).json()
    assert me["role"] == "admin" and me["username"] == "admin" and me["customer_id"] is None
    customer, _ = new_customer(app_client)
    assert app_client.post("/admin/reload-models", headers=customer).status_code == 403
    assert app_client.post("/admin/reload-models").status_code == 401
    assert app_client.get("/jobs/abc", headers=customer).status_code == 403
    assert login(app_client, "admin", "admin-password-for-tests")


def test_production_refuses_the_default_secret(monkeypatch):
    monkeypatch.setenv("HASHIRAMART_ENV", "production")
    monkeypatch.delenv("HASHIRAMART_JWT_SECRET", raising=False)
    with pytest.raises(UnsafeConfiguration, match="HASHIRAMART_JWT_SECRET"):
        check_serving_settings(load_settings())
    from serving.app import create_app

    with pytest.raises(UnsafeConfiguration):
        create_app(load_settings(), start_models=False)
    monkeypatch.setenv("HASHIRAMART_JWT_SECRET", "short")
    with pytest.raises(UnsafeConfiguration, match="32 characters"):
        check_serving_settings(load_settings())
    monkeypatch.setenv("HASHIRAMART_JWT_SECRET", "x" * 40)
    check_serving_settings(load_settings())
    monkeypatch.setenv("HASHIRAMART_ENV", "staging")
    with pytest.raises(UnsafeConfiguration, match="not one of"):
        check_serving_settings(load_settings())
