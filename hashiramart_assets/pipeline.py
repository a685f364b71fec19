"""What the CLI's long commands do: materialise what has landed, run the demo, serve the UI.

Kept apart from cli.py so tests call the same functions the commands call.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from hashiramart_assets import keys, landing
from hashiramart_assets.runner import RunSummary, get_instance, materialize, prepare_dagster_home
from hashiramart_assets.settings import Settings, load_settings

if TYPE_CHECKING:
    import dagster as dg

Say = Callable[[str], None]


def _landed_range(settings: Settings, say: Say) -> tuple[str, str] | None:
    """First..last landed day that is a valid partition (partitions end at the last landed day or yesterday)."""
    days = landing.landed_days(settings.landing_dir, "orders")
    if not days:
        return None
    last_valid = settings.partitions_end or str(date.today() - timedelta(days=1))
    valid = [d for d in days if settings.partitions_start <= d <= last_valid]
    if len(valid) < len(days):
        say(f"{len(days) - len(valid)} landed day(s) are outside the partitions "
            f"{settings.partitions_start}..{last_valid} and are skipped")
    return (valid[0], valid[-1]) if valid else None


DATA_LAYERS = "not group:models and not group:monitoring"
MODELS = "group:models or group:monitoring"


def _span_days(span: tuple[str, str]) -> int:
    return (date.fromisoformat(span[1]) - date.fromisoformat(span[0])).days + 1


def materialize_everything_landed(settings: Settings, say: Say) -> bool:
    """Materialise the data layers over every landed day as one run, then train the models (second run).

    Two runs because the data layers are daily-partitioned and the models are not: the models train on
    everything the first run produced, and only when it succeeded (a failed blocking check stops them).
    """
    from hashiramart_assets.definitions import build_definitions
    from hashiramart_assets.ml.forecast.backtest import required_days
    from hashiramart_assets.ml.forecast.params import ForecasterParams

    span = _landed_range(settings, say)
    if span is None:
        say(f"nothing landed in {settings.landing_dir}: run `hashiramart generate` or an importer first")
        return False
    defs = build_definitions(settings)
    instance = get_instance(settings)
    started = time.monotonic()
    say(f"materialising raw -> features -> warehouse -> staging -> marts for {span[0]}..{span[1]}")
    summary = materialize(defs, instance, DATA_LAYERS, partition_range=span, progress=say)
    ok = _report(summary, started, say)
    if not ok:
        say("models not trained: the data run did not succeed")
        return False
    needed = required_days(ForecasterParams().horizon)
    if _span_days(span) < needed:
        say(f"models not trained: {_span_days(span)} landed days, the forecaster's backtest needs {needed}")
        return True
    started = time.monotonic()
    say("training models (recommender, sales forecaster; MLflow), batch outputs, then monitoring")
    return _report(materialize(defs, instance, MODELS, progress=say), started, say)


def _report(summary: RunSummary, started: float, say: Say) -> bool:
    """Print the run's outcome; True when it succeeded and no check failed, monitoring's checks aside.

    A failed monitoring check (drift, quality, accuracy) is a finding about the data, not a failure of the
    command: it is printed, and under the daemon retrain_on_degradation reacts to it.
    """
    say(f"run {summary.run_id} ({summary.selection}) {'succeeded' if summary.success else 'FAILED'} "
        f"in {time.monotonic() - started:.0f}s")
    failing = []
    for check in summary.failed_checks:
        if check.startswith("monitoring/"):
            say(f"monitoring flagged: {check} (retrain_on_degradation retrains on it when the daemon runs)")
        else:
            failing.append(check)
            say(f"failed check: {check} (see the run in the Dagster UI for the failing rows)")
    return summary.success and not failing


def _category_launch(manifest: dict[str, object], start: date, new_category: bool) -> date | None:
    """A product line launched by an earlier simulation stays in the catalogue (its orders reference it)."""
    earlier = manifest.get("new_category_from")
    if earlier:
        return date.fromisoformat(str(earlier))
    return start if new_category else None


RELOAD_QUERY = "query { workspaceOrError { ... on Workspace { locationEntries { name } } } }"


def reload_code_locations(graphql_url: str) -> str:
    """Ask a running Dagster webserver to reload its code locations, so partitions cover newly landed days.

    Why: the daily partitions end at the last landed day (settings), and a running code server built them
    when it started; new days become partitions (and visible to land_new_days) only after a reload.
    DagsterGraphQLClient reloads a location by name but cannot list the names, so RELOAD_QUERY lists them
    (over the same kind of gql transport the client uses: the client's own _execute is private).
    """
    from urllib.parse import urlsplit

    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError, ReloadRepositoryLocationStatus
    from gql import Client, gql
    from gql.transport.exceptions import TransportError
    from gql.transport.requests import RequestsHTTPTransport

    try:
        listed = Client(transport=RequestsHTTPTransport(url=graphql_url, timeout=30)).execute(gql(RELOAD_QUERY))
        names = [entry["name"] for entry in listed["workspaceOrError"]["locationEntries"]]
        # the hostname only appears in the client's messages: requests go to graphql_url through the transport
        client = DagsterGraphQLClient(urlsplit(graphql_url).netloc or graphql_url,
                                      transport=RequestsHTTPTransport(url=graphql_url, timeout=120))
        failed = []
        for name in names:
            info = client.reload_repository_location(name)
            if info.status is not ReloadRepositoryLocationStatus.SUCCESS:
                failed.append(f"{name} ({info.failure_type}: {info.message})")
    except (DagsterGraphQLClientError, TransportError, KeyError, TypeError, ValueError) as exc:
        return (f"no running Dagster UI at {graphql_url} to reload ({type(exc).__name__}: {exc}); the next "
                "`hashiramart ui` / `demo` loads the new days")
    if failed:
        return f"Dagster at {graphql_url} could not reload code location(s) {'; '.join(failed)}"
    return f"reloaded code location(s) {', '.join(names)} at {graphql_url}: the new days are partitions now"


def simulate_drift(
    settings: Settings, say: Say, days: int = 14, new_category: bool = True, price_factor: float = 1.25,
    run_now: bool = False,
) -> bool:
    """Land ``days`` new days after the last landed one, with a new product category and shifted prices.

    Under a running demo (``hashiramart ui``) the daemon takes it from there: land_new_days requests one
    ranged process_landed_days run (raw -> features -> marts -> batch outputs -> monitoring), the drift checks
    fail and retrain_on_degradation retrains. ``run_now`` does the same in this process instead (no daemon).
    """
    from hashiramart_assets.datagen import GeneratorConfig, generate
    from hashiramart_assets.definitions import build_definitions
    from hashiramart_assets.loop import tick_retrain_sensor

    manifest = landing.read_manifest(settings.landing_dir)
    if manifest.get("source") != "generator" or "end_date" not in manifest:
        say(f"simulate-drift extends generated data: no generator manifest in {settings.landing_dir}")
        return False
    start = date.fromisoformat(str(manifest["end_date"])) + timedelta(days=1)
    last = start + timedelta(days=days - 1)
    if last >= date.today():
        say(f"cannot land {start}..{last}: daily partitions end yesterday ({date.today() - timedelta(days=1)})")
        return False
    config = GeneratorConfig(
        events=max(100, round(float(manifest["events_per_day"]) * days)), start=start, days=days,
        seed=int(manifest.get("seed", 42)), new_category_from=_category_launch(manifest, start, new_category),
        price_shift_from=start if price_factor != 1 else None, price_shift_factor=price_factor,
    )
    generate(config, settings.landing_dir, progress=say)
    say(f"landed {start}..{last} (new category: {new_category}, prices x{price_factor})")
    if not run_now:
        say(reload_code_locations(settings.dagster_graphql_url))
        say("the running platform's sensors pick the days up; watch the Dagster UI (Automation, Runs)")
        return True
    defs, instance = build_definitions(load_settings()), get_instance(settings)
    span = (str(start), str(last))
    for selection, partitions in ((DATA_LAYERS, span), ("group:monitoring or key:models/sales_forecasts", None)):
        started = time.monotonic()
        if not _report(materialize(defs, instance, selection, partition_range=partitions, progress=say), started, say):
            say(f"continuing: failed checks are what the retraining sensor reacts to ({selection})")
    tick = tick_retrain_sensor(defs, instance)
    for request in tick.requests:
        say(f"retrain requested: {request.job_name} ({request.tags.get('hashiramart/retrain_reason', '')})")
    if not tick.requests:
        say(f"no retrain requested: {tick.skip_reason}")
        return True
    if not tick.runs_succeeded:
        say("a retrain run failed: see the Dagster UI")
        return False
    # what the daemon's automation would do next: monitor again against the (possibly new) champions
    started = time.monotonic()
    _report(materialize(defs, instance, "group:monitoring", progress=say), started, say)
    return True


def parse_partition_range(text: str) -> tuple[str, str]:
    """``DAY``, ``FIRST..LAST`` or ``FIRST...LAST`` (how Dagster writes a range) as (first, last)."""
    separator = "..." if "..." in text else ".."
    first, _, last = text.strip().partition(separator)
    for day in (first, last or first):
        try:
            date.fromisoformat(day)
        except ValueError as exc:
            raise ValueError(f"partition {text!r}: {day!r} is not a day (YYYY-MM-DD; ranges FIRST..LAST or "
                             "FIRST...LAST)") from exc
    if last and last < first:
        raise ValueError(f"partition range {text!r} ends before it starts")
    return first, last or first


def _selects_partitioned(defs: dg.Definitions, selection: str) -> bool:
    """Whether the selection holds a daily asset (which then needs a partition range to run)."""
    import dagster as dg

    graph = defs.resolve_asset_graph()
    return any(graph.get(key).is_partitioned for key in dg.AssetSelection.from_string(selection).resolve(graph))


def materialize_selection(settings: Settings, selection: str, partitions: str | None, say: Say) -> bool:
    from hashiramart_assets.definitions import build_definitions

    span = parse_partition_range(partitions) if partitions else None
    defs = build_definitions(settings)
    if span is None and _selects_partitioned(defs, selection):
        span = _landed_range(settings, say)  # daily assets without --partition: every landed day
        if span is None:
            say(f"nothing landed in {settings.landing_dir} for the daily assets of {selection!r}")
            return False
        say(f"no --partition given: {selection!r} over every landed day, {span[0]}...{span[1]}")
    summary = materialize(defs, get_instance(settings), selection, partition_range=span, progress=say)
    say(f"run {summary.run_id} {'succeeded' if summary.success else 'FAILED'}")
    for check in summary.failed_checks:
        say(f"failed check: {check}")
    return summary.success and not summary.failed_checks


def ui_command(settings: Settings, port: int) -> list[str]:
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", "hashiramart_assets.definitions", "-h", "127.0.0.1", "-p", str(port),
    ]


def api_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1", "--port", str(port)]


def _stop(process: subprocess.Popen) -> None:
    """Ask the server's whole process group to stop, then kill what is left after a grace period."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers (dagster dev's code server, daemon ...)


def _stop_stragglers(dagster_home: object) -> None:
    """Kill Dagster processes of this instance that left the process group (a code server that a reload
    replaced can outlive `dagster dev` in its own session); they name the instance's home in their command."""
    import psutil

    marker = str(dagster_home)
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if process.pid != os.getpid() and "dagster" in cmdline and marker in cmdline:
            with contextlib.suppress(psutil.Error):
                process.kill()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stop_spark() -> None:
    """Free the JVM the materialisation used before serving: the UI and API do not need it."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


WATCH_SECONDS = 5.0


def _loop_watcher(settings: Settings, say: Say, api_port: int | None):
    """The terminal's view of the loop: runs and their reasons, champion moves, what the API serves."""
    import httpx
    from mlflow.tracking import MlflowClient

    from hashiramart_assets.loop_watch import LoopWatcher
    from hashiramart_assets.ml import registry

    client = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)

    def champions() -> dict[str, str | None]:
        versions = {name: registry.champion(client, name) for name in registry.MODEL_NAMES}
        return {name: str(v.version) if v is not None else None for name, v in versions.items()}

    def served() -> dict[str, str | None]:
        models = httpx.get(f"http://127.0.0.1:{api_port}/ready", timeout=5).json()["models"]
        return {name: str(m["version"]) if m.get("version") is not None else None for name, m in models.items()}

    return LoopWatcher(get_instance(settings), lambda line: say(f"[loop] {line}"), champions,
                       served if api_port else None)


def serve_ui(
    settings: Settings, port: int, say: Say, api_port: int | None = None, mlflow_port: int | None = None
) -> int:
    """Run `dagster dev` (webserver + daemon), the API and the MLflow UI if asked, until Ctrl-C; then stop them."""
    from hashiramart_assets.services.mlflow_ui import mlflow_ui_command

    prepare_dagster_home(settings)
    env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home)}
    if mlflow_port:  # the assets' links open this UI
        env["HASHIRAMART_MLFLOW_UI_URL"] = f"http://127.0.0.1:{mlflow_port}"
    env.setdefault("DAGSTER_GRAPHQL_URL", f"http://127.0.0.1:{port}/graphql")  # the API launches retrains here
    env.setdefault("HASHIRAMART_MODEL_POLL_SECONDS", "10")  # the API picks up a new champion within 10 s
    # Ctrl-C and `kill` both stop everything started here (also when started from a script, where
    # SIGINT may arrive ignored). Each server gets its own process group so nothing is left behind.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [subprocess.Popen(ui_command(settings, port), env=env, start_new_session=True)]
    try:
        say(f"Dagster UI: http://127.0.0.1:{port}")
        if api_port:
            processes.append(subprocess.Popen(api_command(api_port), env=env, start_new_session=True))
            say(f"API: http://127.0.0.1:{api_port}/docs")
        if mlflow_port:
            processes.append(subprocess.Popen(mlflow_ui_command(settings, mlflow_port), env=env,
                                              start_new_session=True))
            say(f"MLflow UI: http://127.0.0.1:{mlflow_port} (runs, registered models, drift reports)")
        say("Ctrl-C stops everything this command started; what the platform does on its own shows here")
        watcher = _loop_watcher(settings, say, api_port)
        while True:
            try:
                return processes[0].wait(timeout=WATCH_SECONDS)
            except subprocess.TimeoutExpired:
                watcher.poll()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            _stop(process)
        _stop_stragglers(settings.dagster_home)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def already_materialised(settings: Settings) -> bool:
    """The raw layer holds landed days and both models were trained: a restarted demo resumes instead."""

    from hashiramart_assets.automation import MODEL_KEYS

    instance = get_instance(settings)
    try:
        if not instance.get_materialized_partitions(keys.RAW_ORDERS):
            return False
        return all(instance.get_latest_materialization_event(key) for key in MODEL_KEYS.values())
    finally:
        instance.dispose()


def run_demo(
    settings: Settings, events: int, days: int, port: int, ui: bool, say: Say, api_port: int = 8000,
    mlflow_port: int | None = 5000,
) -> int:
    """Generate (if nothing landed), start Postgres, materialise everything, then serve the UI."""
    from hashiramart_assets.datagen import GeneratorConfig, generate
    from hashiramart_assets.services.postgres import EmbeddedPostgres, postgres_url

    settings.home.mkdir(parents=True, exist_ok=True)
    demo_started = time.monotonic()
    say(f"HASHIRAMART_HOME={settings.home}")
    if not landing.landed_days(settings.landing_dir, "orders"):
        say(f"generating sample data: {events} events over {days} days")
        summary = generate(GeneratorConfig(events=events, days=days), settings.landing_dir)
        say(f"generated: {summary}")
        settings = load_settings()  # the manifest now fixes the partitions' first day
    started_postgres = settings.uses_embedded_postgres and not EmbeddedPostgres(
        settings.embedded_postgres_dir
    ).status().running
    say(f"postgres: {postgres_url(settings)}")
    try:
        if ui and already_materialised(settings):
            say("this home is already materialised and trained: resuming the loop (the sensors pick up from "
                "their cursors; newly landed days go through land_new_days)")
            ok = True
        else:
            ok = materialize_everything_landed(settings, say)
        say(f"{'ready' if ok else 'FAILED'}: data, models and monitoring in {time.monotonic() - demo_started:.0f} s")
        if not ui:
            return 0 if ok else 1
        _stop_spark()
        return serve_ui(settings, port, say, api_port=api_port, mlflow_port=mlflow_port)
    finally:
        if started_postgres:
            EmbeddedPostgres(settings.embedded_postgres_dir).stop()
            say("postgres: stopped (started by this demo)")
