"""Launching retraining runs through the Dagster webserver's GraphQL API, and reading their status.

Why GraphQL and not the Python API: the API process is not the Dagster instance's process (it may run
on another machine); the webserver is the supported remote entry point. The run is an ad-hoc asset
materialisation (the implicit asset job with an asset selection), so no extra job has to exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

TRAINING_ASSETS = {"recommender": ["models", "recommender"], "forecaster": ["models", "sales_forecaster"]}
IMPLICIT_ASSET_JOB = "__ASSET_JOB"

ASSET_QUERY = """
query AssetLocation($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode { jobNames repository { name location { name } } }
    ... on AssetNotFoundError { message }
  }
}
"""

LAUNCH_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""

RUN_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""


class DagsterUnavailable(RuntimeError):
    """The webserver cannot be reached (503)."""


class DagsterError(RuntimeError):
    """Dagster answered but refused (502), e.g. an unknown asset or an invalid run."""


class RunNotFound(LookupError):
    """No run with this id (404)."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    job_name: str | None = None
    start_time: float | None = None
    end_time: float | None = None


class DagsterClient:
    def __init__(self, graphql_url: str, timeout: float = 10.0) -> None:
        self.url = graphql_url
        self.timeout = timeout

    def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = httpx.post(self.url, json={"query": query, "variables": variables}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DagsterUnavailable(f"Dagster is unreachable at {self.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (404, 405):
            raise DagsterUnavailable(f"Dagster at {self.url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise DagsterUnavailable(f"Dagster at {self.url} did not answer GraphQL JSON") from exc
        if body.get("errors"):
            raise DagsterError("; ".join(str(e.get("message", e)) for e in body["errors"])[:1000])
        return body.get("data") or {}

    def launch_assets(self, asset_path: list[str], tags: dict[str, str]) -> RunInfo:
        """Launch a run materialising one asset (found in whichever code location defines it)."""
        found = self._post(ASSET_QUERY, {"assetKey": {"path": asset_path}})["assetNodeOrError"]
        if found["__typename"] != "AssetNode":
            raise DagsterError(found.get("message") or f"asset {'/'.join(asset_path)} is not in any code location")
        jobs = found.get("jobNames") or []
        job = IMPLICIT_ASSET_JOB if IMPLICIT_ASSET_JOB in jobs or not jobs else jobs[0]
        params = {
            "selector": {
                "repositoryLocationName": found["repository"]["location"]["name"],
                "repositoryName": found["repository"]["name"],
                "jobName": job,
                "assetSelection": [{"path": asset_path}],
            },
            "mode": "default",
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self._post(LAUNCH_MUTATION, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            errors = result.get("errors") or []
            detail = result.get("message") or "; ".join(e["message"] for e in errors) or result["__typename"]
            raise DagsterError(f"Dagster refused the run ({result['__typename']}): {detail}"[:1000])
        run = result["run"]
        return RunInfo(run["runId"], run["status"], job)

    def run_status(self, run_id: str) -> RunInfo:
        result = self._post(RUN_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] == "RunNotFoundError":
            raise RunNotFound(result.get("message") or f"no run {run_id}")
        if result["__typename"] != "Run":
            raise DagsterError(result.get("message") or result["__typename"])
        return RunInfo(result["runId"], result["status"], result.get("jobName"), result.get("startTime"),
                       result.get("endTime"))
