"""``hashiramart experiments …`` and ``hashiramart models history``: online experiments and the alias audit.

Separate from cli.py (which wires them in) because they share one thing the other commands do not: the
app schema in Postgres, where experiments and the audit trail live.
"""

from __future__ import annotations

import json

import click
import sqlalchemy
from mlflow.tracking import MlflowClient

from hashiramart_assets.settings import load_settings


def app_engine() -> sqlalchemy.Engine:
    """The platform's Postgres (HASHIRAMART_POSTGRES_URL, or the embedded server, started on demand)."""
    from hashiramart_assets.services.postgres import postgres_url

    return sqlalchemy.create_engine(postgres_url(load_settings()), poolclass=sqlalchemy.pool.NullPool)


def registry_client() -> MlflowClient:
    from hashiramart_assets.ml.tracking import ensure_experiment

    settings = load_settings()
    ensure_experiment(settings.mlflow_tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
    return MlflowClient(settings.mlflow_tracking_uri)


@click.group()
def experiments() -> None:
    """Online experiments: try a challenger on live traffic next to the champion, read the result."""


@experiments.command("set")
@click.argument("name")
@click.option("--challenger-share", type=click.FloatRange(0, 1), default=None,
              help="share of customers shown the challenger (0 ends the experiment); with --shadow, the share of "
                   "requests also scored by it (default 1)")
@click.option("--shadow", is_flag=True, help="score the challenger on the same requests without showing its answer")
@click.option("--version", "version", default=None,
              help="challenger version (default: the running experiment's, else the registry's @challenger)")
@click.option("--reason", default=None, help="recorded when the experiment ends")
def experiments_set(name: str, challenger_share: float | None, shadow: bool, version: str | None,
                    reason: str | None) -> None:
    """Start, change or end the experiment of NAME (e.g. hashiramart-recommender); every API worker picks it up."""
    from hashiramart_assets.experiments import store
    from hashiramart_assets.experiments.audit import cli_actor
    from hashiramart_assets.ml import registry

    if name != registry.RECOMMENDER:
        raise click.ClickException(f"online experiments need feedback on what was shown: only {registry.RECOMMENDER} "
                                   f"has it (got {name!r})")
    if challenger_share is None:
        if not shadow:
            raise click.UsageError("give --challenger-share (0 ends the experiment) or --shadow")
        challenger_share = 1.0
    client = registry_client()
    engine = app_engine()
    try:
        if challenger_share > 0 and version is None:
            with engine.connect() as conn:
                running = store.active_one(conn, name)
            if running is None:
                alias = registry.challenger(client, name)
                if alias is None:
                    raise click.ClickException(f"{name} has no @challenger version: train one (a version that does "
                                               "not beat the champion stays challenger) or give --version")
                version = str(alias.version)
        if version is not None:
            try:
                client.get_model_version(name, version)
            except Exception as exc:
                raise click.ClickException(f"{name} has no version {version!r}") from exc
        champion = registry.champion(client, name)
        actor = cli_actor()
        experiment = store.set_experiment(engine, name, challenger_share, version,
                                          str(champion.version) if champion else None, actor, shadow=shadow,
                                          reason=reason or f"share set to 0 by {actor}")
    except store.ExperimentError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    if experiment is None:
        click.echo(f"{name}: no experiment running (every customer gets the champion)")
    else:
        click.echo(experiment.describe())
        click.echo(f"API workers pick it up within HASHIRAMART_EXPERIMENT_POLL_SECONDS "
                   f"({load_settings().experiment_poll_seconds:g} s)")


@experiments.command("show")
@click.argument("name", required=False, default="hashiramart-recommender")
@click.option("--json", "as_json", is_flag=True, help="the analysis as JSON")
def experiments_show(name: str, as_json: bool) -> None:
    """The running experiment of NAME with its analysis so far, and the last ended ones."""
    from hashiramart_assets.experiments import store
    from hashiramart_assets.experiments.conclude import analyse_active

    engine = app_engine()
    try:
        analysis = analyse_active(engine, registry_client(), name, load_settings().experiment_rules())
        with engine.connect() as conn:
            past = [e for e in store.history(conn, name, limit=5) if e.ended_at is not None]
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(analysis.as_dict() if analysis else None, indent=2, default=str))
        return
    if analysis is None:
        click.echo(f"{name}: no experiment running")
    else:
        data = analysis.as_dict()
        click.echo(analysis.experiment.describe())
        for variant in ("champion", "challenger"):
            ctr = data[f"{variant}_ctr"]
            click.echo(f"  {variant:<10} impressions {data[f'{variant}_impressions']:>8}  clicks "
                       f"{data[f'{variant}_clicks']:>6}  purchases {data[f'{variant}_purchases']:>6}  CTR "
                       + ("n/a" if ctr is None else f"{ctr:.4f}"))
        click.echo(f"  verdict: {analysis.decision}: {analysis.reason}")
    for e in past:
        click.echo(f"ended experiment {e.id} (challenger v{e.challenger_version}, {e.challenger_share:.0%}"
                   f"{', shadow' if e.shadow else ''}): {e.ended_at:%Y-%m-%d %H:%M} by {e.ended_by}: {e.end_reason}")


@click.command("history")
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def models_history(name: str, limit: int) -> None:
    """Every audited move of NAME's aliases (champion, challenger): when, from, to, who or what, why."""
    from hashiramart_assets.experiments.audit import history
    from hashiramart_assets.ml import registry

    if name not in registry.MODEL_NAMES:
        raise click.ClickException(f"no registered model {name!r} (known: {', '.join(registry.MODEL_NAMES)})")
    engine = app_engine()
    try:
        rows = history(engine, name, limit)
    finally:
        engine.dispose()
    if not rows:
        click.echo(f"{name}: no alias moves recorded yet")
    for row in rows:
        click.echo(row.line())
