"""Lake -> Postgres: COPY whole tables or whole days, idempotently (a re-load replaces, never duplicates).

Why COPY through psycopg2: row inserts are two orders of magnitude slower for millions of lines.
Why the CSV is written by pyarrow: pandas' ``to_csv`` formats cell by cell in Python and was ~35 s of
the 76 s that loading 10M raw events took (benchmarks/reports/full_graph.md); Arrow's C++ writer is
many times faster and keeps the same meaning: NULL is an unquoted empty field, an empty string ``""``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy

PG_TYPES = {
    "int64": "bigint", "Int64": "bigint", "int32": "integer", "Int32": "integer", "float64": "double precision",
    "bool": "boolean", "boolean": "boolean", "string": "text", "object": "text",
}


class WarehouseUnreachable(RuntimeError):
    """Postgres could not be reached; the message says which server and how to configure it."""


def _pg_type(dtype: object) -> str:
    name = str(dtype)
    if name.startswith("datetime64"):
        return "timestamp"
    return PG_TYPES.get(name, "text")


def connect(url: str) -> psycopg2.extensions.connection:
    parsed = sqlalchemy.engine.make_url(url)
    where = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    try:
        return psycopg2.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
            dbname=parsed.database, connect_timeout=10,
        )
    except psycopg2.OperationalError as exc:
        raise WarehouseUnreachable(
            f"cannot reach PostgreSQL at {where} as {parsed.username!r}: {str(exc).strip()}. "
            "Set HASHIRAMART_POSTGRES_URL to a reachable server, or unset it to use the embedded one "
            "(`hashiramart services start`)."
        ) from exc


def _ddl(schema: str, table: str, df: pd.DataFrame) -> str:
    columns = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in df.dtypes.items())
    return (
        f'create schema if not exists "{schema}"; '
        f'create table if not exists "{schema}"."{table}" ({columns}, loaded_at timestamptz not null default now())'
    )


def _csv_ready(df: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table whose every column the CSV writer can render as Postgres reads it.

    Dictionary (pandas category) columns become plain values; timestamps become microseconds, what a
    Postgres ``timestamp`` keeps (the lake already stores microseconds, so nothing is rounded away).
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.timestamp("us", column.type.tz), safe=False)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _copy(cursor: psycopg2.extensions.cursor, schema: str, table: str, df: pd.DataFrame, freeze: bool = False) -> None:
    """COPY the frame; ``freeze`` (only for a table created in this transaction) writes the rows frozen.

    Why freeze: the first query after a plain bulk load rewrites every page to set the rows' visibility
    hint bits; for 10M raw events that landed in the next dbt step. Frozen rows need no such pass.
    """
    buffer = io.BytesIO()
    pa_csv.write_csv(_csv_ready(df), buffer, pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    columns = ", ".join(f'"{c}"' for c in df.columns)
    options = "format csv, freeze" if freeze else "format csv"
    cursor.copy_expert(f'copy "{schema}"."{table}" ({columns}) from stdin with ({options})', buffer)


def _analyze(cursor: psycopg2.extensions.cursor, schema: str, table: str) -> None:
    """Fresh planner statistics right away: dbt queries the table next, before autovacuum would get to it."""
    cursor.execute(f'analyze "{schema}"."{table}"')


def _exists(cursor: psycopg2.extensions.cursor, schema: str, table: str) -> bool:
    cursor.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',))
    return bool(cursor.fetchone()[0])


def replace_table(url: str, schema: str, table: str, df: pd.DataFrame) -> int:
    """Drop and reload a whole table in one transaction."""
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f'drop table if exists "{schema}"."{table}" cascade')
        cursor.execute(_ddl(schema, table, df))
        _copy(cursor, schema, table, df, freeze=True)
        _analyze(cursor, schema, table)
    conn.close()
    return len(df)


def replace_days(
    url: str, schema: str, table: str, frames: Iterable[tuple[str, pd.DataFrame]], ts_column: str
) -> dict[str, int]:
    """For each (day, rows): delete that day's rows, then COPY the new ones; all in one transaction.

    A table that does not exist yet is created in the same transaction, filled with frozen rows (see
    ``_copy``) and indexed once at the end, cheaper than keeping the index up to date row by row.
    """
    loaded: dict[str, int] = {}
    with connect(url) as conn, conn.cursor() as cursor:
        new_table: bool | None = None
        for day, df in frames:
            if new_table is None:
                new_table = not _exists(cursor, schema, table)
                cursor.execute(_ddl(schema, table, df))
            if not new_table:
                cursor.execute(
                    f'delete from "{schema}"."{table}" where "{ts_column}" >= %s::date '
                    f"and \"{ts_column}\" < %s::date + 1",
                    (day, day),
                )
            _copy(cursor, schema, table, df, freeze=new_table)
            loaded[day] = len(df)
        if new_table is not None:
            cursor.execute(
                f'create index if not exists "{table}_{ts_column}_idx" on "{schema}"."{table}" ("{ts_column}")'
            )
            _analyze(cursor, schema, table)
    conn.close()
    return loaded


def count_rows(url: str, sql: str) -> int:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        value = cursor.fetchone()[0]
    conn.close()
    return int(value)
