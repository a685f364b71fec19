"""The dbt resource's version shortcut must keep overriding dagster-dbt's own (a private attribute).

Why a test: HashiraMartDbtCli replaces ``DbtCliResource._cli_version`` to skip a ``dbt --version``
process per run. If an upgrade of dagster-dbt renames that attribute, the override would silently stop
applying; this test makes the upgrade fail loudly instead.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version

import dagster_dbt.core.resource as dbt_resource_module
from dagster_dbt import DbtCliResource
from packaging.version import Version

from hashiramart_assets.assets.marts import HashiraMartDbtCli, dbt_resource


def test_the_overridden_attribute_exists_on_dagster_dbts_resource():
    assert "_cli_version" in vars(DbtCliResource), "dagster-dbt renamed _cli_version: revisit HashiraMartDbtCli"
    assert vars(HashiraMartDbtCli)["_cli_version"] is not vars(DbtCliResource)["_cli_version"]


def test_version_comes_from_the_installed_dbt_core_without_a_process(monkeypatch):
    def no_process(*_args, **_kwargs):
        raise AssertionError("dbt --version was started")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_process)
    resource = dbt_resource()
    assert isinstance(resource, HashiraMartDbtCli)
    assert resource._cli_version == Version(installed_version("dbt-core"))
    assert resource._cli_version.major == 1  # dagster-dbt takes the dbt-core (not fusion) code path below 2
