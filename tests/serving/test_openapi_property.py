"""Property-based run over the OpenAPI schema (schemathesis + hypothesis): no generated request gets a 5xx.

Requests carry an admin token so they reach past authentication into validation, the database and the
models. Every dependency is up except Dagster (a closed loopback port), whose documented answer is 503;
any other 5xx fails. /admin/reload-models is left out only for time (each call reloads both models).
Operations are driven one by one with hypothesis (schemathesis' pytest loader does not work with
pytest 9 here), 25 examples each, derandomized so a failure reproduces.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

EXAMPLES = 25


def test_no_server_errors(api_schema, admin_headers, app_client):
    failures: list[str] = []
    tried: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/admin/reload-models":
            continue
        tried.append(f"{operation.method.upper()} {operation.path}")

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=admin_headers)
            statuses[response.status_code] += 1
            dagster_down = case.path.startswith("/jobs") and response.status_code == 503
            if response.status_code >= 500 and not dagster_down:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> "
                                f"{response.status_code}: {response.text[:300]}")

        run()
    # random bodies may have started an experiment (challenger "2" exists): the tests after this one expect none
    ended = app_client.put("/admin/experiments/hashiramart-recommender", json={"challenger_share": 0},
                           headers=admin_headers)
    assert ended.status_code == 200
    assert len(tried) >= 17, tried
    assert sum(statuses.values()) >= 5 * len(tried), statuses  # the run really exercised the API
    assert any(200 <= code < 300 for code in statuses) and 422 in statuses, statuses
    print(dict(statuses))
    assert not failures, "\n".join(failures[:10])
