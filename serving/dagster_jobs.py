"""Launching retraining runs through the Dagster webserver's GraphQL API, and reading their status.

Why GraphQL and not the Python API: the API process is not the Dagster instance's process (it may run
on another machine); the webserver is the supported remote entry point. The run is an ad-hoc asset
materialisation (the implicit asset job with an asset selection), so no extra job has to exist.

Why dagster-graphql's DagsterGraphQLClient: it is Dagster's own client for that API, so launching a run
(submit_job_execution) and reading its status (get_run_status) follow Dagster's schema as it changes.
It has no method for two things this module needs: which code location defines an asset (ASSET_QUERY) and a
run's job name and start/end times (RUN_QUERY; get_run_status answers the status only). Those two queries go
through the same kind of gql transport the client is given (its public ``transport`` argument; the client's
own ``_execute`` is private), so every call shares one HTTP stack, one timeout and one error mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport

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


def _messages(errors: Any) -> str:
    """GraphQL errors (dicts with a message) or any other detail, as one line."""
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return "" if errors is None else str(errors)


class DagsterClient:
    def __init__(self, graphql_url: str, timeout: float = 10.0) -> None:
        self.url = graphql_url
        self.timeout = timeout

    def _refuse_server_errors(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests response hook: a 5xx (even with GraphQL errors in its body), 404 or 405 means no usable
        Dagster there. gql parses any JSON answer whatever its status, so the status is checked here."""
        if response.status_code >= 500 or response.status_code in (404, 405):
            raise DagsterUnavailable(f"Dagster at {self.url} answered HTTP {response.status_code}")

    def _transport(self) -> RequestsHTTPTransport:
        # One transport per call: a RequestsHTTPTransport holds one requests session and refuses a second
        # connect, so a shared one would fail when the API's thread pool serves two admin calls at once.
        return RequestsHTTPTransport(
            url=self.url,
            timeout=self.timeout,  # type: ignore[arg-type]  # requests takes float seconds; gql annotates int
            hooks={"response": [self._refuse_server_errors]},
        )

    def _client(self) -> DagsterGraphQLClient:
        # the hostname only appears in the client's own messages: requests go to self.url through the transport
        return DagsterGraphQLClient(urlsplit(self.url).netloc or self.url, transport=self._transport())

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A query DagsterGraphQLClient has no method for, over the same kind of transport it uses."""
        with self._translated_errors():
            return Client(transport=self._transport()).execute(GraphQLRequest(query, variable_values=variables))

    def _domain_error(self, exc: Exception) -> DagsterUnavailable | DagsterError:
        """A client/transport failure as DagsterUnavailable (503) or DagsterError (502)."""
        chain: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and cause not in chain:
            chain.append(cause)
            cause = cause.__cause__
        for error in chain:  # raised by the response hook, wrapped by gql and by the client
            if isinstance(error, DagsterUnavailable):
                return DagsterUnavailable(str(error))
        for error in chain:
            if isinstance(error, TransportConnectionFailed):
                reason = error.__cause__ or error
                return DagsterUnavailable(f"Dagster is unreachable at {self.url}: {type(reason).__name__}: {reason}")
            if isinstance(error, TransportQueryError):
                return DagsterError(_messages(error.errors or [str(error)])[:1000])
            if isinstance(error, TransportProtocolError | TransportServerError):
                return DagsterUnavailable(f"Dagster at {self.url} did not answer GraphQL JSON")
        return DagsterError(str(exc)[:1000])

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except (DagsterGraphQLClientError, TransportError) as exc:
            raise self._domain_error(exc) from exc

    def launch_assets(self, asset_path: list[str], tags: dict[str, str]) -> RunInfo:
        """Launch a run materialising one asset (found in whichever code location defines it)."""
        found = self._query(ASSET_QUERY, {"assetKey": {"path": asset_path}})["assetNodeOrError"]
        if found["__typename"] != "AssetNode":
            raise DagsterError(found.get("message") or f"asset {'/'.join(asset_path)} is not in any code location")
        jobs = found.get("jobNames") or []
        job = IMPLICIT_ASSET_JOB if IMPLICIT_ASSET_JOB in jobs or not jobs else jobs[0]
        client = self._client()
        try:
            run_id = client.submit_job_execution(
                job,
                repository_location_name=found["repository"]["location"]["name"],
                repository_name=found["repository"]["name"],
                tags=dict(tags),
                asset_selection=[asset_path],
            )
        except DagsterGraphQLClientError as exc:
            if exc.__cause__ is not None:  # the request itself failed (unreachable, HTTP error, GraphQL errors)
                raise self._domain_error(exc) from exc
            # Dagster answered with a refusal: (its __typename, a message or validation errors) or a body
            kind, *detail = exc.args or (type(exc).__name__,)
            reason = _messages(detail[0] if detail else exc.body) or str(kind)
            raise DagsterError(f"Dagster refused the run ({kind}): {reason}"[:1000]) from exc
        except KeyError as exc:  # a refusal type the client's mutation asks no message for (e.g. the repository
            # went away in a reload since ASSET_QUERY): the client then fails reading its message
            raise DagsterError(f"Dagster refused the run (an answer without {exc})") from exc
        try:
            status = client.get_run_status(run_id)
        except DagsterGraphQLClientError as exc:  # the run exists: say so rather than invite a second launch
            failure = self._domain_error(exc)
            raise type(failure)(f"run {run_id} was launched but its status could not be read: {failure}") from exc
        return RunInfo(run_id, status.value, job)

    def run_status(self, run_id: str) -> RunInfo:
        result = self._query(RUN_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] == "RunNotFoundError":
            raise RunNotFound(result.get("message") or f"no run {run_id}")
        if result["__typename"] != "Run":
            raise DagsterError(result.get("message") or result["__typename"])
        return RunInfo(result["runId"], result["status"], result.get("jobName"), result.get("startTime"),
                       result.get("endTime"))
