"""The ``hashiramart`` command: settings, embedded services, data, materialisation and the demo."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click

from hashiramart_assets import console
from hashiramart_assets.cli_experiments import app_engine, experiments, models_history, registry_client
from hashiramart_assets.settings import load_settings

_say = console.say
_VERBOSE = "HASHIRAMART_VERBOSE"


@contextlib.contextmanager
def _quietly(command: str) -> Iterator[None]:
    """Only the command's own lines on the terminal; the rest (Dagster, Spark, dbt, MLflow) to a log file."""
    if os.environ.get(_VERBOSE) == "1":
        yield
        return
    path = console.log_file(load_settings().home, command)
    with console.quiet_output(path):
        _say(f"full log: {path} (--verbose shows it here)")
        yield


@click.group()
@click.option("--home", envvar="HASHIRAMART_HOME", default=None, help="HASHIRAMART_HOME (default ./.hashiramart)")
@click.option("--verbose", "-v", is_flag=True,
              help="show every library's output (Dagster, Spark, dbt, MLflow) instead of writing it to a log file")
def main(home: str | None, verbose: bool) -> None:
    """HashiraMart data and ML platform."""
    if home:
        os.environ["HASHIRAMART_HOME"] = str(Path(home).absolute())
    if verbose:
        os.environ[_VERBOSE] = "1"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def config(as_json: bool) -> None:
    """Show every setting, its value, default and where it came from."""
    rows = load_settings().table_settings()
    if as_json:
        click.echo(json.dumps({r.env_var: r.value for r in rows}, indent=2))
        return
    width = max(len(r.env_var) for r in rows)
    for row in rows:
        click.echo(f"{row.env_var:<{width}}  {row.value}  [{row.source}; default: {row.default}]")
        click.echo(f"{'':<{width}}  {row.description}")


@main.group()
def services() -> None:
    """Embedded services (PostgreSQL) under HASHIRAMART_HOME."""


@services.command("status")
def services_status() -> None:
    from hashiramart_assets.services.java import find_java
    from hashiramart_assets.services.postgres import postgres_status

    settings = load_settings()
    status = postgres_status(settings)
    click.echo(f"postgres: {'running' if status.running else 'stopped'} ({status.message})")
    if status.url:
        click.echo(f"  url: {status.url}")
    click.echo(f"  data: {status.data_dir}  embedded: {status.embedded}")
    try:
        java = find_java(settings.home / "java")
        click.echo(f"java: {java.version} from {java.source} ({java.java_home})")
    except Exception as exc:  # a report, not an operation: show what is wrong
        click.echo(f"java: not usable ({exc})")


@services.command("start")
def services_start() -> None:
    from hashiramart_assets.services.postgres import postgres_url

    click.echo(postgres_url(load_settings()))


@services.command("stop")
def services_stop() -> None:
    from hashiramart_assets.services.postgres import stop_postgres

    stopped = stop_postgres(load_settings())
    click.echo("postgres: stopped" if stopped else "postgres: was not running")


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@main.command()
@click.option("--events", "--scale", "events", type=int, default=200_000, show_default=True,
              help="target number of clickstream events (order lines are about a tenth)")
@click.option("--start", callback=_parse_date, default="2025-01-01", show_default=True)
@click.option("--days", type=int, default=365, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--new-category-from", callback=_parse_date, default=None,
              help="drift: a new product category launches on this date")
@click.option("--price-shift-from", callback=_parse_date, default=None,
              help="drift: list prices shift from this date")
@click.option("--price-shift-factor", type=float, default=1.25, show_default=True)
@click.option("--corrupt-day", callback=_parse_date, default=None, help="bad input: corrupt this day's files")
@click.option("--corruption", default="negative_quantity", show_default=True)
def generate(events: int, start: date, days: int, seed: int, new_category_from: date | None,
             price_shift_from: date | None, price_shift_factor: float, corrupt_day: date | None,
             corruption: str) -> None:
    """Generate seeded sample data into the landing zone."""
    from hashiramart_assets.datagen import CORRUPTIONS, GeneratorConfig
    from hashiramart_assets.datagen import generate as run_generator

    if corruption not in CORRUPTIONS:
        raise click.BadParameter(f"{corruption!r} is not one of {CORRUPTIONS}", param_hint="--corruption")
    settings = load_settings()
    cfg = GeneratorConfig(
        events=events, start=start, days=days, seed=seed, new_category_from=new_category_from,
        price_shift_from=price_shift_from, price_shift_factor=price_shift_factor,
        corrupt_day=corrupt_day, corruption=corruption,
    )
    summary = run_generator(cfg, settings.landing_dir, progress=_say)
    _say(f"generated into {settings.landing_dir}: {summary}")
    _tell_running_ui()


@main.group(name="import")
def import_group() -> None:
    """Import real data exports into the landing zone."""


@import_group.command("online-retail")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="replace orders/events already in the landing zone")
def import_online_retail_cmd(file: Path, replace: bool) -> None:
    """Import a UCI Online Retail (I or II) CSV; rejected rows go to the quarantine."""
    from hashiramart_assets.importers.online_retail import import_online_retail

    settings = load_settings()
    try:
        report = import_online_retail(file, settings.landing_dir, progress=_say, replace=replace)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_import_report(report)


def _echo_import_report(report) -> None:
    """Print an importer's report (common.ImportReport) and what to set when the data starts early."""
    click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    if report.start_date and report.start_date < load_settings().partitions_start:
        _say(f"note: data starts {report.start_date}; set HASHIRAMART_PARTITIONS_START={report.start_date}")
    _tell_running_ui()


def _tell_running_ui() -> None:
    """New days landed: a running `hashiramart ui`/`demo` reloads its code location so they become partitions
    and land_new_days carries them through the graph (nothing to do when no UI runs)."""
    from hashiramart_assets.pipeline import reload_code_locations

    _say(reload_code_locations(load_settings().dagster_graphql_url))


@import_group.command("orders")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="YAML file: 'columns:' (field: column) and options; flags override it")
@click.option("--column", "columns", multiple=True, metavar="FIELD=COLUMN",
              help="e.g. --column order_id=InvoiceNo --column timestamp='Order Date' (repeatable). Required fields: "
                   "order_id timestamp customer_id product_id quantity unit_price; optional: category country "
                   "channel description product_name")
@click.option("--date-format", default=None, help="auto (default), iso, us, european or a strftime format")
@click.option("--decimal-comma", is_flag=True, help="numbers are written 2,55 / 1.234,50")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header)")
@click.option("--returns", type=click.Choice(["quarantine", "land"]), default=None,
              help="negative quantities: quarantine (default, reason 'return') or land as is_return lines")
@click.option("--customer-ids", type=click.Choice(["auto", "numeric", "hash"]), default=None,
              help="auto (default): numbers stay, any text id -> stable hashed ids for all (mapping saved)")
@click.option("--replace", is_flag=True, help="replace what is already in the landing zone")
def import_orders_cmd(file: Path, mapping_file: Path | None, columns: tuple[str, ...], date_format: str | None,
                      decimal_comma: bool, delimiter: str | None, returns: str | None, customer_ids: str | None,
                      replace: bool) -> None:
    """Import any shop's order-line export (CSV, .csv.gz, .xlsx) given which column holds which field;
    rejected rows go to landing/_quarantine/orders.parquet, the report to landing/_reports/orders_import.json."""
    from hashiramart_assets.importers.generic_orders import import_orders, make_mapping

    try:
        mapping = make_mapping(mapping_file, columns, date_format=date_format, decimal="," if decimal_comma else None,
                               delimiter=delimiter, returns=returns, customer_ids=customer_ids)
        report = import_orders(file, load_settings().landing_dir, mapping, progress=_say, replace=replace)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_import_report(report)


@import_group.command("store-sales")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--stores", "stores_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="one row per store (Rossmann store.csv: Store, StoreType, Assortment, ...)")
@click.option("--column", "columns", multiple=True, metavar="CANONICAL=FileColumn",
              help="name a column, e.g. --column store=shop_id --column sales=revenue; "
                   "stores.NAME=... for the stores file only (repeatable)")
@click.option("--date-format", default="auto", show_default=True, help="'auto', iso, us, european or a strftime format")
@click.option("--decimal", type=click.Choice([".", ","]), default=".", show_default=True, help="decimal mark")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header)")
@click.option("--replace", is_flag=True, help="replace what is already in the landing zone")
def import_store_sales_cmd(file: Path, stores_file: Path | None, columns: tuple[str, ...], date_format: str,
                           decimal: str, delimiter: str | None, replace: bool) -> None:
    """Import store daily sales (one row per store x day, Rossmann train.csv layout) as one order line per
    open store-day; closed days and rejected rows are reported (landing/_reports/store_sales_import.json)."""
    from hashiramart_assets.importers.store_sales import import_store_sales

    settings = load_settings()
    try:
        report = import_store_sales(file, settings.landing_dir, stores_path=stores_file, column_map=list(columns),
                                    progress=_say, replace=replace, date_format=date_format, decimal=decimal,
                                    delimiter=delimiter)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    _tell_running_ui()


def _check_partitions(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from hashiramart_assets.pipeline import parse_partition_range

    if value is not None:
        try:
            parse_partition_range(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


@main.command()
@click.argument("selection", default="*")
@click.option("--partition", "partitions", default=None, callback=_check_partitions,
              help="a day (YYYY-MM-DD) or a range FIRST..LAST (or FIRST...LAST); default: every landed day")
def materialize(selection: str, partitions: str | None) -> None:
    """Materialise assets in-process against the Dagster instance (e.g. 'group:raw', 'key:raw/orders')."""
    from hashiramart_assets.pipeline import materialize_everything_landed, materialize_selection

    settings = load_settings()
    with _quietly("materialize"):
        if selection == "*" and partitions is None:
            ok = materialize_everything_landed(settings, _say)
        else:
            ok = materialize_selection(settings, selection, partitions, _say)
    raise SystemExit(0 if ok else 1)


@main.command("simulate-drift")
@click.option("--days", type=click.IntRange(min=1), default=14, show_default=True, help="new days to land")
@click.option("--new-category/--no-new-category", default=True, show_default=True,
              help="launch a product category the models have never seen")
@click.option("--price-factor", type=click.FloatRange(min=0.01), default=1.25, show_default=True,
              help="list prices of the new days x this")
@click.option("--run-now", is_flag=True,
              help="materialise, monitor and tick the retraining sensor in this process (no running demo needed)")
def simulate_drift_cmd(days: int, new_category: bool, price_factor: float, run_now: bool) -> None:
    """Land drifted days after the last generated day, so the retraining loop can be watched."""
    from hashiramart_assets.pipeline import simulate_drift

    with _quietly("simulate-drift"):
        ok = simulate_drift(load_settings(), _say, days, new_category, price_factor, run_now)
    raise SystemExit(0 if ok else 1)


@main.command()
@click.option("--events", type=int, default=200_000, show_default=True, help="scale of generated data")
@click.option("--days", type=int, default=365, show_default=True)
@click.option("--port", type=int, default=3000, show_default=True, help="Dagster UI port")
@click.option("--api-port", type=int, default=8000, show_default=True, help="API port")
@click.option("--mlflow-port", type=int, default=5000, show_default=True, help="MLflow UI port (0: no MLflow UI)")
@click.option("--no-ui", is_flag=True, help="materialise and exit (CI, scripts)")
def demo(events: int, days: int, port: int, api_port: int, mlflow_port: int, no_ui: bool) -> None:
    """On an empty HASHIRAMART_HOME: generate, start services, materialise everything, start the UI."""
    from hashiramart_assets.pipeline import run_demo

    with _quietly("demo"):
        code = run_demo(load_settings(), events=events, days=days, port=port, ui=not no_ui, say=_say,
                        api_port=api_port, mlflow_port=mlflow_port or None)
    raise SystemExit(code)


@main.group()
def models() -> None:
    """The MLflow model registry: list versions, promote or roll back the ``champion`` alias."""


models.add_command(models_history)
main.add_command(experiments)
_registry_client = registry_client


@contextlib.contextmanager
def _audited_by_cli() -> Iterator[None]:
    """Alias moves of ``models promote`` / ``rollback`` go to the audit table (``hashiramart models history``)."""
    from hashiramart_assets.experiments.audit import audited, cli_actor

    engine = app_engine()
    try:
        with audited(engine, cli_actor()):
            yield
    finally:
        engine.dispose()


@models.command("list")
@click.argument("name", required=False)
def models_list(name: str | None) -> None:
    """Versions of NAME (default: every HashiraMart model), newest first, with aliases and headline metric."""
    from hashiramart_assets.ml import registry

    client = _registry_client()
    names = [name] if name else list(registry.MODEL_NAMES)
    for model in names:
        try:
            rows = registry.list_versions(client, model)
        except registry.RegistryError as exc:
            if name:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{model}: no versions yet")
            continue
        click.echo(f"{model}:")
        for row in rows:
            value = "n/a" if row.headline_value is None else f"{row.headline_value:.4f}"
            aliases = ",".join(row.aliases) or "-"
            click.echo(f"  v{row.version:<4} {aliases:<20} {row.headline_metric}={value:<8} {row.created}  "
                       f"run {row.run_id}  {row.decision}")


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.option("--reason", default="promoted by hand", show_default=True)
def models_promote(name: str, version: str, reason: str) -> None:
    """Make VERSION of NAME the champion (served by the API)."""
    from hashiramart_assets.ml import registry

    try:
        with _audited_by_cli():
            mv = registry.promote(_registry_client(), name, version, reason)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: champion is now v{mv.version}")


@models.command("rollback")
@click.argument("name")
@click.argument("version", required=False)
def models_rollback(name: str, version: str | None) -> None:
    """Point the champion back at VERSION, or at the version the current champion replaced."""
    from hashiramart_assets.ml import registry

    try:
        with _audited_by_cli():
            mv = registry.rollback(_registry_client(), name, version)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: champion is now v{mv.version}")


@main.command("backtest-forecast")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--horizon", type=click.IntRange(min=1), default=28, show_default=True)
@click.option("--stores", "attributes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="a per-series attributes file (e.g. Rossmann's store.csv): its columns become covariates")
@click.option("--windows", type=click.IntRange(min=1), default=None,
              help="rolling backtest windows (default 3, fewer if the history is short)")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the metrics as JSON here")
def backtest_forecast(file: Path, horizon: int, attributes: Path | None, windows: int | None,
                      output: Path | None) -> None:
    """Backtest the LightGBM forecaster vs seasonal naive on a long-format sales file (CSV or Parquet).

    Columns: series_id, date, sales, and optionally promo, open, holiday, price; every further column is
    a covariate (customers-like outcomes only through their past). Rolling windows of --horizon days.
    """
    from hashiramart_assets.ml.forecast.backtest import run_backtest_file

    try:
        report = run_backtest_file(file, horizon=horizon, attributes_path=attributes, windows=windows)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    text = json.dumps(report, indent=2, default=str)
    click.echo(text)
    if output:
        output.write_text(text + "\n")
        _say(f"metrics written to {output}")


@main.command()
@click.option("--port", type=int, default=8000, show_default=True, help="API port")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
def serve(port: int, host: str) -> None:
    """Start the REST API (serving.app:app under uvicorn); docs at /docs.

    Set HASHIRAMART_ADMIN_PASSWORD to create (or reset) the user 'admin'; HASHIRAMART_ENV=production
    refuses to start without HASHIRAMART_JWT_SECRET.
    """
    import uvicorn

    from serving.config import UnsafeConfiguration, check_serving_settings

    try:
        check_serving_settings(load_settings())
    except UnsafeConfiguration as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"API: http://{host}:{port}/docs")
    uvicorn.run("serving.app:app", host=host, port=port, log_level="info")


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (webserver + daemon) on the HashiraMart instance."""
    from hashiramart_assets.pipeline import serve_ui

    serve_ui(load_settings(), port, _say)


@main.command("mlflow")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def mlflow_cmd(port: int, host: str) -> None:
    """The MLflow UI on the platform's tracking store and registry (runs, model versions, drift reports)."""
    import subprocess

    from hashiramart_assets.services.mlflow_ui import mlflow_ui_command

    _say(f"MLflow UI: http://{host}:{port} (Ctrl-C stops; the assets' links assume HASHIRAMART_MLFLOW_UI_URL="
         f"{load_settings().mlflow_ui_url})")
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(subprocess.call(mlflow_ui_command(load_settings(), port, host)))


@main.command("dbt-docs")
@click.option("--serve/--no-serve", default=False, show_default=True,
              help="after generating, serve the site with `dbt docs serve` on a free port (Ctrl-C stops)")
@click.option("--port", type=int, default=None, help="port for --serve (default: a free one)")
def dbt_docs_cmd(serve: bool, port: int | None) -> None:
    """Generate the dbt docs site (models, sources, columns, lineage) from the warehouse's catalog.

    Connects like the dbt assets (HASHIRAMART_POSTGRES_URL, else the embedded Postgres, started if needed);
    writes HASHIRAMART_HOME/dbt_docs (index.html, and static_index.html that opens without a server).
    """
    from hashiramart_assets.dbt_docs import generate_dbt_docs, serve_dbt_docs
    from hashiramart_assets.services.ports import free_loopback_port

    settings = load_settings()
    _say("dbt docs generate (queries the warehouse's catalog) ...")
    try:
        index = generate_dbt_docs(settings)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"dbt docs: {index} (no server needed: {index.parent / 'static_index.html'})")
    if serve:
        port = port or free_loopback_port()
        _say(f"dbt docs: http://127.0.0.1:{port} (Ctrl-C stops)")
        serve_dbt_docs(settings, port)


@main.command("metrics-exporter")
@click.option("--port", type=int, default=9108, show_default=True, help="port of /metrics")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
def metrics_exporter(port: int, host: str) -> None:
    """Serve Prometheus metrics of the platform: latest check results, drift and monitoring values, champions."""
    import threading

    from hashiramart_assets.platform_metrics import collector_from_settings, serve

    server, _ = serve(collector_from_settings(), host, port)
    _say(f"platform metrics: http://{host}:{port}/metrics (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
