"""A tiny versioned migration runner for schema ``app`` (users, products, feedback).

Why not Alembic: four tables and forward-only changes; a numbered list of SQL scripts recorded in
``app.schema_migrations`` is enough, and an advisory lock makes concurrent starts (several API
workers) apply each script exactly once. Append new migrations; never edit an applied one.
"""

from __future__ import annotations

import sqlalchemy
from sqlalchemy.engine import Engine

LOCK_KEY = 7_310_006  # pg_advisory_xact_lock key of this runner (any constant unique to it)

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "app schema: users, products, feedback",
        """
        create table app.users (
            id bigserial primary key,
            username text not null unique,
            password_hash text not null,
            role text not null check (role in ('customer', 'admin')),
            customer_id bigint unique,
            created_at timestamptz not null default now()
        );
        -- customer ids handed to new sign-ups: far above the shop's ids, so they never clash
        create sequence app.new_customer_id_seq start with 1000000000;
        create table app.products (
            product_id text primary key,
            name text not null,
            department text,
            category text,
            category_path text,
            base_price numeric(12, 2) not null check (base_price >= 0),
            launch_date date,
            updated_at timestamptz not null default now()
        );
        create index products_category_idx on app.products (category);
        create table app.feedback (
            id bigserial primary key,
            customer_id bigint not null,
            product_id text not null,
            event text not null check (event in ('impression', 'click', 'purchase')),
            model_version text,
            rank integer,
            ts timestamptz not null default now()
        );
        create index feedback_ts_idx on app.feedback (ts);
        """,
    ),
)


def migrate(engine: Engine) -> list[int]:
    """Apply every migration not yet recorded, in order, in one transaction; return the versions applied."""
    applied_now: list[int] = []
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("select pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        conn.execute(sqlalchemy.text("create schema if not exists app"))
        conn.execute(sqlalchemy.text(
            "create table if not exists app.schema_migrations ("
            "version integer primary key, name text not null, applied_at timestamptz not null default now())"
        ))
        done: set[int] = set(conn.execute(sqlalchemy.text("select version from app.schema_migrations")).scalars())
        for version, name, script in MIGRATIONS:
            if version in done:
                continue
            conn.exec_driver_sql(script)
            conn.execute(
                sqlalchemy.text("insert into app.schema_migrations (version, name) values (:v, :n)"),
                {"v": version, "n": name},
            )
            applied_now.append(version)
    return applied_now
