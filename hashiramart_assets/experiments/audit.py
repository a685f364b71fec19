"""The audit trail of registry alias moves (``app.alias_history``): who or what, when, from, to, why.

The registry announces each move (``registry.recording_alias_moves``); ``AliasAudit`` is the listener
that writes it. Actors are plain words: ``cli:<os user>``, ``dagster:<run id> <asset>``,
``api:<username>``, ``sensor:conclude_experiments``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy
from sqlalchemy.engine import Engine

from hashiramart_assets.app_schema import migrate
from hashiramart_assets.ml.registry import AliasMove, recording_alias_moves


@dataclass(frozen=True)
class AliasHistoryRow:
    id: int
    model_name: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str
    ts: datetime

    def line(self) -> str:
        before = f"v{self.from_version}" if self.from_version else "(none)"
        after = f"v{self.to_version}" if self.to_version else "(removed)"
        return f"{self.ts:%Y-%m-%d %H:%M:%S}  {self.alias:<10} {before:>9} -> {after:<9}  {self.actor}: {self.reason}"


class AliasAudit:
    """Writes each move in its own transaction, at once: an audit row must not wait for (or die with) a run."""

    def __init__(self, engine: Engine, actor: str) -> None:
        self.engine = engine
        self.actor = actor[:200]
        migrate(engine)

    def __call__(self, move: AliasMove) -> None:
        with self.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                "insert into app.alias_history (model_name, alias, from_version, to_version, actor, reason) "
                "values (:n, :a, :f, :t, :actor, :r)"),
                {"n": move.name, "a": move.alias, "f": move.from_version, "t": move.to_version, "actor": self.actor,
                 "r": move.reason[:2000]})


@contextmanager
def audited(engine: Engine, actor: str) -> Iterator[AliasAudit]:
    """Every alias move inside the block is written to ``app.alias_history`` as done by ``actor``."""
    audit = AliasAudit(engine, actor)
    with recording_alias_moves(audit):
        yield audit


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = "unknown"
    return f"cli:{user}"


def history(engine: Engine, model_name: str, limit: int = 100) -> list[AliasHistoryRow]:
    """Moves of ``model_name``, oldest first (the last ``limit``)."""
    with engine.connect() as conn:
        if conn.execute(sqlalchemy.text("select to_regclass('app.alias_history')")).scalar() is None:
            return []
        rows = conn.execute(sqlalchemy.text(
            "select * from (select id, model_name, alias, from_version, to_version, actor, reason, ts "
            "from app.alias_history where model_name = :n order by id desc limit :l) last order by id"),
            {"n": model_name, "l": limit})
        return [AliasHistoryRow(**r._mapping) for r in rows]
