-- Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
-- POSTGRES_DB (hashiramart) is created by the image: it holds the warehouse (raw_*, staging, marts schemas)
-- and the API's app data (schema app, versioned migrations), one database on purpose: monitoring reads
-- app.feedback next to the marts through one connection. Dagster and MLflow get their own databases.
CREATE DATABASE dagster;
CREATE DATABASE mlflow;
