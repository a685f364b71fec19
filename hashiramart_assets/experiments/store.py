"""Experiments in Postgres (``app.experiments``): start, change, end, read.

One active experiment per model (a partial unique index says so); changing the share of a running
experiment keeps its id, so customers keep their assignment; naming another challenger version starts
a new experiment (a new id re-randomises). Ending one is never a delete: the row keeps who ended it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy
from sqlalchemy.engine import Connection, Engine

from hashiramart_assets.app_schema import migrate

_COLUMNS = ("id, model_name, champion_version, challenger_version, challenger_share, shadow, started_at, "
            "started_by, updated_at, ended_at, ended_by, end_reason")


class ExperimentError(ValueError):
    """An experiment request that cannot be done (bad share, no challenger, nothing to end)."""


@dataclass(frozen=True)
class Experiment:
    id: int
    model_name: str
    champion_version: str | None  # when it started (the champion may move during it)
    challenger_version: str
    challenger_share: float
    shadow: bool
    started_at: datetime
    started_by: str
    updated_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    @property
    def mode(self) -> str:
        return "shadow" if self.shadow else "split"

    def describe(self) -> str:
        share = f"{self.challenger_share:.0%}"
        what = f"challenger v{self.challenger_version} scored in shadow on {share} of requests" if self.shadow \
            else f"challenger v{self.challenger_version} shown to {share} of customers"
        return f"experiment {self.id} of {self.model_name}: {what} (started {self.started_at:%Y-%m-%d %H:%M} by " \
               f"{self.started_by})"


def _row(row: sqlalchemy.Row) -> Experiment:
    return Experiment(**row._mapping)


def active(conn: Connection, model_name: str | None = None) -> list[Experiment]:
    """Running experiments (of one model, or all); empty when the app schema has none yet."""
    if conn.execute(sqlalchemy.text("select to_regclass('app.experiments')")).scalar() is None:
        return []
    where = "ended_at is null" + (" and model_name = :m" if model_name else "")
    rows = conn.execute(sqlalchemy.text(f"select {_COLUMNS} from app.experiments where {where} order by id"),
                        {"m": model_name})
    return [_row(r) for r in rows]


def active_one(conn: Connection, model_name: str) -> Experiment | None:
    found = active(conn, model_name)
    return found[0] if found else None


def get(conn: Connection, experiment_id: int) -> Experiment | None:
    row = conn.execute(sqlalchemy.text(f"select {_COLUMNS} from app.experiments where id = :i"),
                       {"i": experiment_id}).first()
    return _row(row) if row is not None else None


def check_share(share: float) -> float:
    if not 0 <= share <= 1:
        raise ExperimentError(f"challenger share {share} must be within 0..1 (0 ends the experiment)")
    return float(share)


def set_experiment(engine: Engine, model_name: str, share: float, challenger_version: str | None,
                   champion_version: str | None, actor: str, shadow: bool = False,
                   reason: str = "share set to 0") -> Experiment | None:
    """Start, change or (share 0) end the experiment of ``model_name``; the experiment now, or None when ended.

    ``challenger_version`` None keeps the running experiment's challenger; there must then be one.
    """
    share = check_share(share)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("select pg_advisory_xact_lock(hashtext(:m))"), {"m": model_name})
        current = active_one(conn, model_name)
        if share == 0:
            if current is not None:
                _end(conn, current.id, actor, reason)
            return None
        version = challenger_version or (current.challenger_version if current else None)
        if version is None:
            raise ExperimentError(f"{model_name} has no challenger version to try: train one (it becomes "
                                  "@challenger when it does not beat the champion) or give --version")
        if version == champion_version:
            raise ExperimentError(f"v{version} is already the champion of {model_name}: nothing to compare")
        if current is not None and current.challenger_version == version and current.shadow == shadow:
            conn.execute(sqlalchemy.text("update app.experiments set challenger_share = :s, updated_at = now() "
                                         "where id = :i"), {"s": share, "i": current.id})
            return get(conn, current.id)
        if current is not None:
            _end(conn, current.id, actor, f"replaced by a new experiment (challenger v{version}, "
                                          f"{'shadow' if shadow else 'split'})")
        new_id: int = conn.execute(sqlalchemy.text(
            "insert into app.experiments (model_name, champion_version, challenger_version, challenger_share, "
            "shadow, started_by) values (:m, :c, :v, :s, :sh, :a) returning id"),
            {"m": model_name, "c": champion_version, "v": version, "s": share, "sh": shadow, "a": actor}).scalar_one()
        return get(conn, int(new_id))


def end(engine: Engine, experiment_id: int, actor: str, reason: str) -> bool:
    """End a running experiment; False when it had already ended."""
    with engine.begin() as conn:
        return _end(conn, experiment_id, actor, reason)


def _end(conn: Connection, experiment_id: int, actor: str, reason: str) -> bool:
    result = conn.execute(sqlalchemy.text(
        "update app.experiments set ended_at = now(), ended_by = :a, end_reason = :r, updated_at = now() "
        "where id = :i and ended_at is null"), {"a": actor, "r": reason[:2000], "i": experiment_id})
    return bool(result.rowcount)


def history(conn: Connection, model_name: str, limit: int = 20) -> list[Experiment]:
    """Newest first, ended ones included."""
    if conn.execute(sqlalchemy.text("select to_regclass('app.experiments')")).scalar() is None:
        return []
    rows = conn.execute(sqlalchemy.text(f"select {_COLUMNS} from app.experiments where model_name = :m "
                                        "order by id desc limit :n"), {"m": model_name, "n": limit})
    return [_row(r) for r in rows]
