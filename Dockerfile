FROM python:3.11-slim
WORKDIR /opt/hashiramart
COPY pyproject.toml requirements.lock README.md ./
COPY hashiramart_assets ./hashiramart_assets
COPY serving ./serving
COPY dbt_project ./dbt_project
COPY workspace.yaml dagster.yaml ./
RUN pip install --no-cache-dir -c requirements.lock . && mkdir -p /opt/dagster/home && cp dagster.yaml /opt/dagster/home/
