"""A tiny versioned migration runner for schema ``app`` (users, products, feedback, experiments).

Shared by the API (at start), the CLI and the Dagster assets that read or write the app schema (the
experiment analysis, the alias audit), so whichever starts first creates the tables.

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
    (
        2,
        "online experiments: experiments, impressions, shadow predictions, attributed feedback, alias history",
        """
        create table app.experiments (
            id bigserial primary key,
            model_name text not null,
            champion_version text,
            challenger_version text not null,
            challenger_share double precision not null check (challenger_share >= 0 and challenger_share <= 1),
            shadow boolean not null default false,
            started_at timestamptz not null default now(),
            started_by text not null,
            updated_at timestamptz not null default now(),
            ended_at timestamptz,
            ended_by text,
            end_reason text
        );
        create unique index experiments_one_active_idx on app.experiments (model_name) where ended_at is null;
        -- what the API showed: one row per answer, its items in rank order
        create table app.impressions (
            id bigserial primary key,
            customer_id bigint not null,
            model_name text not null,
            experiment_id bigint,
            variant text not null check (variant in ('champion', 'challenger')),
            model_version text not null,
            product_ids text[] not null,
            ts timestamptz not null
        );
        create index impressions_customer_ts_idx on app.impressions (customer_id, ts);
        create index impressions_experiment_idx on app.impressions (experiment_id) where experiment_id is not null;
        create index impressions_ts_idx on app.impressions (ts);
        -- shadow mode: what the challenger would have shown on the same request
        create table app.shadow_predictions (
            id bigserial primary key,
            experiment_id bigint not null,
            customer_id bigint not null,
            champion_version text not null,
            challenger_version text not null,
            shown text[] not null,
            shadow text[] not null,
            ts timestamptz not null
        );
        create index shadow_predictions_experiment_idx on app.shadow_predictions (experiment_id);
        -- feedback names the impression it answers; the variant and version come from there, not the client
        alter table app.feedback add column impression_id bigint, add column experiment_id bigint,
            add column variant text;
        create index feedback_experiment_idx on app.feedback (experiment_id) where experiment_id is not null;
        -- feedback that matched nothing the API showed: kept and counted, never attributed
        create table app.feedback_rejected (
            id bigserial primary key,
            customer_id bigint,
            product_id text,
            event text,
            reason text not null,
            ts timestamptz not null default now()
        );
        -- every move of a registry alias, by whom and why (the registry's version tags keep only the last)
        create table app.alias_history (
            id bigserial primary key,
            model_name text not null,
            alias text not null,
            from_version text,
            to_version text,
            actor text not null,
            reason text not null,
            ts timestamptz not null default now()
        );
        create index alias_history_model_idx on app.alias_history (model_name, ts);
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
