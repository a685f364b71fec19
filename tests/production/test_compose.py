"""docker-compose.yml against the compose specification (offline, check-jsonschema's vendored schema), and the
settings it passes against the settings the code reads, both ways."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hashiramart_assets.settings import load_settings
from tests.production.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
HASHIRAMART_IMAGE = "hashiramart:"
# Read by a library, not by settings.py: the variable and who reads it.
THIRD_PARTY = {
    "AWS_SECRET_ACCESS_KEY": "boto3 (MLflow's S3 artifact store, dagster-aws)",
    "MLFLOW_S3_ENDPOINT_URL": "MLflow's S3 artifact repository (MinIO)",
    "SPARK_WORKER_CORES": "Spark's Worker", "SPARK_WORKER_MEMORY": "Spark's Worker",
}
# HASHIRAMART_* settings that compose leaves at the code's default on purpose (none today: each is set,
# possibly to `${VAR:-}` so .env can change it).
DELIBERATE_DEFAULTS: dict[str, str] = {}
SECRET_NAME = re.compile(r"PASSWORD|SECRET")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _platform_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items()
            if str(svc.get("image", "")).startswith(HASHIRAMART_IMAGE)}


def _dagster_yaml_env() -> set[str]:
    return set(re.findall(r"env:\s*([A-Z_][A-Z0-9_]*)", (REPO / "dagster.yaml").read_text()))


def _source_mentions(name: str) -> bool:
    return any(f'"{name}"' in path.read_text() for folder in ("hashiramart_assets", "serving")
               for path in (REPO / folder).rglob("*.py"))


def test_compose_file_validates_against_the_compose_spec(tmp_path: Path):
    ok = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the validator does reject a broken file (so the check above means something)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy", "condition: when_ready", 1))
    bad = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(broken)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "when_ready" in bad.stdout + bad.stderr


def test_every_variable_passed_to_the_platform_is_read_by_the_code():
    known = {s.env_var for s in load_settings().table_settings()} | _dagster_yaml_env() | set(THIRD_PARTY)
    services = _platform_services(_compose())
    assert {"dagster-code", "dagster-webserver", "dagster-daemon", "api", "metrics-exporter", "mlflow",
            "spark-master", "spark-worker"} <= set(services)
    for name, service in services.items():
        for variable in service.get("environment", {}):
            assert variable in known or _source_mentions(variable), f"{name}: {variable} is read by nothing"


def test_every_setting_is_set_for_the_platform_or_deliberately_defaulted():
    env = _compose()["services"]["dagster-code"]["environment"]
    for setting in load_settings().table_settings():
        if setting.env_var.startswith(("HASHIRAMART_", "DAGSTER_", "MLFLOW_", "AWS_", "SPARK_")):
            assert setting.env_var in env or setting.env_var in DELIBERATE_DEFAULTS, setting.env_var
    assert _dagster_yaml_env() <= set(env)  # the instance can be built in every Dagster container
    for service in ("dagster-webserver", "dagster-daemon", "api", "metrics-exporter"):
        assert _compose()["services"][service]["environment"] == env  # one settings module, one environment


def test_secrets_come_from_the_env_file_only():
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for name, service in _compose()["services"].items():
        environment = service.get("environment", {})
        items = environment.items() if isinstance(environment, dict) else (e.split("=", 1) for e in environment)
        for variable, value in items:
            if SECRET_NAME.search(variable):
                refs = re.findall(r"\$\{([A-Z_]+):\?", str(value))
                assert refs, f"{name}: {variable} must come from .env as ${{VAR:?...}}, not a literal"
                assert all(ref in example for ref in refs), f"{name}: {refs} missing from .env.example"
    assert all("CHANGE-ME" in example[k] for k in example if SECRET_NAME.search(k) and k != "GRAFANA_ADMIN_USER")


@pytest.mark.parametrize("path", ["docker/prometheus.yml", "docker/prometheus-alerts.yml",
                                  "docker/grafana/provisioning/datasources/prometheus.yml",
                                  "docker/grafana/provisioning/dashboards/hashiramart.yml", "docker/workspace.yaml",
                                  "workspace.yaml"])
def test_mounted_configuration_files_exist_and_parse(path: str):
    assert yaml.safe_load((REPO / path).read_text())


def test_every_bind_mount_source_exists():
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"


def _image_tag(image: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference; a registry host's port is not a tag."""
    name = image.split("@")[0]  # a digest pins by itself; the tag is what is read here
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, None
    return repository, tag


def test_image_reference_parsing():
    assert _image_tag("quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z") == (
        "quay.io/minio/minio", "RELEASE.2025-04-22T22-12-26Z")
    assert _image_tag("registry:5000/prom/prometheus") == ("registry:5000/prom/prometheus", None)
    assert _image_tag("postgres") == ("postgres", None)


def test_every_third_party_image_is_pinned_to_an_exact_release():
    """No `latest`, no bare major (`postgres:17`), no untagged image: a release number or MinIO's release stamp."""
    exact = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+][\w.-]+)?$|^RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$")
    images = {}
    for name, service in _compose()["services"].items():
        if "build" in service:  # built from this checkout (the hashiramart image); its tag names the build
            assert str(service["image"]).startswith(HASHIRAMART_IMAGE), name
            continue
        repository, tag = _image_tag(service["image"])
        assert tag is not None and "$" not in tag, f"{name}: {service['image']} has no fixed tag"
        assert tag != "latest" and exact.match(tag), f"{name}: {service['image']} is not an exact release"
        images[name] = (repository, tag)
    assert {"postgres", "minio", "minio-init", "prometheus", "grafana", "namenode"} <= set(images)
    # one release per image across services (the HDFS namenode and datanode run the same Hadoop)
    releases: dict[str, set[str]] = {}
    for repository, tag in images.values():
        releases.setdefault(repository, set()).add(tag)
    assert all(len(tags) == 1 for tags in releases.values()), releases


def test_grafana_provisioning_points_at_the_mounted_dashboards():
    compose = _compose()["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in compose["volumes"] if volume.startswith("./"))
    provider = yaml.safe_load((REPO / "docker/grafana/provisioning/dashboards/hashiramart.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == mounts["./docker/grafana/dashboards"]
    assert mounts["./docker/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = compose["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(mounts["./docker/grafana/dashboards"] + "/")
    assert (REPO / "docker/grafana/dashboards" / Path(home).name).exists()


def test_spark_class_script_parses():
    syntax = subprocess.run(["sh", "-n", str(REPO / "docker/spark-class.sh")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
