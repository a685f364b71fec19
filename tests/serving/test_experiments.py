"""Online experiments through the API: the split, the answers' variant and version, shadow mode, attribution,
results, and an experiment set by the CLI reaching a running uvicorn worker without a restart."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy
from click.testing import CliRunner

from hashiramart_assets.cli import main
from hashiramart_assets.experiments.assignment import variant
from hashiramart_assets.ml import registry
from tests.serving.conftest import ADMIN_PASSWORD, new_customer
from tests.support import free_loopback_port, running_server

URL = f"/admin/experiments/{registry.RECOMMENDER}"


def _known_customers(world, n: int) -> list[int]:
    ids = sorted(set(world.recommender_inputs.orders["customer_id"].astype(int)))
    return ids[:n]


@pytest.fixture
def end_experiment(app_client, admin_headers) -> Iterator[None]:
    """Every test leaves no experiment running (the other serving tests expect the champion for everyone)."""
    yield
    response = app_client.put(URL, json={"challenger_share": 0}, headers=admin_headers)
    assert response.status_code == 200 and response.json()["experiment"] is None


def _scalar(world, sql: str, **params):
    engine = sqlalchemy.create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), params).all()
    finally:
        engine.dispose()


def test_split_answers_carry_variant_and_version(app_client, admin_headers, world, second_version, end_experiment):
    started = app_client.put(URL, json={"challenger_share": 0.5, "challenger_version": second_version},
                             headers=admin_headers)
    assert started.status_code == 200, started.text
    experiment = started.json()["experiment"]
    assert experiment["serving"] and experiment["challenger_version"] == second_version
    assert experiment["champion_version"] == "1" and experiment["started_by"] == "api:admin"
    exp_id = experiment["id"]
    live = app_client.app.state.hm.experiments.current
    counts = {"champion": 0, "challenger": 0}
    for customer in _known_customers(world, 150):
        body = app_client.post("/recommend", json={"customer_id": customer}, headers=admin_headers).json()
        expected = variant(customer, exp_id, 0.5)
        assert body["variant"] == expected
        assert body["model_version"] == ("1" if expected == "champion" else second_version)
        if expected == "challenger":  # the challenger's own ranking, not the champion's relabelled
            items, _ = live.challenger.scorer.recommend(customer, 10, False)
            assert [i["product_id"] for i in body["items"]] == [i.product_id for i in items]
        counts[expected] += 1
    assert 45 <= counts["challenger"] <= 105, counts  # 50 % of 150, loosely
    # a click on an item the challenger showed is attributed to the challenger and this experiment
    challenger_customer = next(c for c in _known_customers(world, 150) if variant(c, exp_id, 0.5) == "challenger")
    shown = app_client.post("/recommend", json={"customer_id": challenger_customer, "k": 3},
                            headers=admin_headers).json()
    click = app_client.post("/feedback", json={"product_id": shown["items"][2]["product_id"], "event": "click",
                                               "customer_id": challenger_customer}, headers=admin_headers)
    assert click.status_code == 201
    assert (click.json()["variant"], click.json()["experiment_id"], click.json()["model_version"]) == (
        "challenger", exp_id, second_version)
    results = app_client.get(f"{URL}/results", headers=admin_headers)
    assert results.status_code == 200, results.text
    figures = results.json()
    assert figures["experiment_id"] == exp_id and figures["mode"] == "split"
    assert figures["champion_impressions"] == 10 * counts["champion"]
    assert figures["challenger_impressions"] == 10 * counts["challenger"] + 3
    assert figures["challenger_clicks"] == 1 and figures["champion_clicks"] == 0
    assert figures["decision"] == "continue" and "not enough impressions" in figures["reason"]
    listed = app_client.get("/admin/experiments", headers=admin_headers).json()
    assert [e["id"] for e in listed] == [exp_id]
    metrics = app_client.get("/metrics").text
    assert (f'hashiramart_recommendations_served_total{{model="{registry.RECOMMENDER}",model_version="'
            f'{second_version}",variant="challenger"}}') in metrics
    assert (f'hashiramart_experiment_challenger_share{{experiment_id="{exp_id}",mode="split",model="'
            f'{registry.RECOMMENDER}"}} 0.5') in metrics
    # ending it: everyone gets the champion again, and the row keeps who ended it and why
    ended = app_client.put(URL, json={"challenger_share": 0, "reason": "test over"}, headers=admin_headers)
    assert ended.json()["experiment"] is None
    again = app_client.post("/recommend", json={"customer_id": challenger_customer}, headers=admin_headers).json()
    assert (again["variant"], again["model_version"]) == ("champion", "1")
    row = _scalar(world, "select ended_by, end_reason from app.experiments where id = :i", i=exp_id)
    assert row == [("api:admin", "test over")]


def test_shadow_never_changes_what_the_customer_sees(app_client, admin_headers, world, second_version,
                                                     end_experiment):
    customers = _known_customers(world, 40)
    before = {c: app_client.post("/recommend", json={"customer_id": c}, headers=admin_headers).content
              for c in customers}
    started = app_client.put(URL, json={"challenger_share": 1.0, "shadow": True, "challenger_version": second_version},
                             headers=admin_headers).json()["experiment"]
    assert started["shadow"] and started["serving"]
    live = app_client.app.state.hm.experiments.current
    for customer in customers:
        during = app_client.post("/recommend", json={"customer_id": customer}, headers=admin_headers)
        assert during.content == before[customer]  # byte for byte: variant champion, the champion's items
        assert json.loads(during.content)["variant"] == "champion"
    app_client.app.state.hm.impressions.flush()
    rows = _scalar(world, "select customer_id, champion_version, challenger_version, shown, shadow "
                          "from app.shadow_predictions where experiment_id = :i", i=started["id"])
    assert sorted(r[0] for r in rows) == sorted(customers)
    differs = 0
    for customer, champion_version, challenger_version, shown, shadow in rows:
        assert (champion_version, challenger_version) == ("1", second_version)
        assert shown == [i["product_id"] for i in json.loads(before[customer])["items"]]
        items, _ = live.challenger.scorer.recommend(customer, 10, False)
        assert shadow == [i.product_id for i in items]
        differs += shown != shadow
    assert differs > 0  # the challenger really is another model
    figures = app_client.get(f"{URL}/results", headers=admin_headers).json()
    assert figures["mode"] == "shadow" and figures["shadow_requests"] == len(customers)
    assert 0 <= figures["shadow_overlap"] < 1 and figures["decision"] == "continue"
    assert figures["challenger_impressions"] == 0


def test_experiment_errors(app_client, admin_headers, second_version):
    customer_headers, _ = new_customer(app_client)
    assert app_client.put(URL, json={"challenger_share": 0.2}, headers=customer_headers).status_code == 403
    assert app_client.put(URL, json={"challenger_share": 0.2}).status_code == 401
    for body in ({"challenger_share": 1.5}, {"challenger_share": -0.1}, {"challenger_share": "x"}, {},
                 {"challenger_share": 0.2, "challenger_version": "v2"}, {"challenger_share": 0.2, "extra": 1}):
        assert app_client.put(URL, json=body, headers=admin_headers).status_code == 422, body
    unknown = app_client.put(URL, json={"challenger_share": 0.2, "challenger_version": "999"}, headers=admin_headers)
    assert unknown.status_code == 404 and "no version '999'" in unknown.json()["detail"]
    champion = app_client.put(URL, json={"challenger_share": 0.2, "challenger_version": "1"}, headers=admin_headers)
    assert champion.status_code == 409 and "already the champion" in champion.json()["detail"]
    forecaster = app_client.put(f"/admin/experiments/{registry.FORECASTER}", json={"challenger_share": 0.2},
                                headers=admin_headers)
    assert forecaster.status_code == 422
    assert app_client.get(f"{URL}/results", headers=admin_headers).status_code == 404
    history = app_client.get(f"/admin/models/{registry.RECOMMENDER}/history", headers=admin_headers)
    assert history.status_code == 200 and isinstance(history.json(), list)


@pytest.fixture
def polling_server(world) -> Iterator[str]:
    """``uvicorn serving.app:app`` in its own process, re-reading experiments every 0.3 s."""
    port = free_loopback_port()
    env = {**os.environ, "HASHIRAMART_EXPERIMENT_POLL_SECONDS": "0.3"}
    with running_server([sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1", "--port",
                         str(port), "--log-level", "warning"], url=f"http://127.0.0.1:{port}/health", timeout=120,
                        env=env):
        yield f"http://127.0.0.1:{port}"


def _wait_for_variant(http: httpx.Client, headers: dict, customer: int, wanted: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        body = http.post("/recommend", json={"customer_id": customer}, headers=headers).json()
        if body["variant"] == wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_cli_experiment_reaches_a_running_server_without_restart(world, second_version, polling_server):
    runner = CliRunner()
    customer = _known_customers(world, 1)[0]
    with httpx.Client(base_url=polling_server, timeout=10) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.3)
        token = http.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert http.post("/recommend", json={"customer_id": customer}, headers=headers).json()["variant"] == "champion"
        try:
            out = runner.invoke(main, ["experiments", "set", registry.RECOMMENDER, "--challenger-share", "1",
                                       "--version", second_version])
            assert out.exit_code == 0, out.output
            assert f"challenger v{second_version} shown to 100% of customers" in out.output
            body = _wait_for_variant(http, headers, customer, "challenger")
            assert (body["variant"], body["model_version"]) == ("challenger", second_version)
            shown = runner.invoke(main, ["experiments", "show", registry.RECOMMENDER])
            assert shown.exit_code == 0 and "challenger impressions" in shown.output, shown.output
        finally:
            ended = runner.invoke(main, ["experiments", "set", registry.RECOMMENDER, "--challenger-share", "0"])
        assert ended.exit_code == 0 and "no experiment running" in ended.output
        body = _wait_for_variant(http, headers, customer, "champion")
        assert (body["variant"], body["model_version"]) == ("champion", "1")
    bad = runner.invoke(main, ["experiments", "set", registry.FORECASTER, "--challenger-share", "0.2"])
    assert bad.exit_code != 0 and "only hashiramart-recommender" in bad.output
    assert runner.invoke(main, ["experiments", "set", registry.RECOMMENDER]).exit_code == 2
