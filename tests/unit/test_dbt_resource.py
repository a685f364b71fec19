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


def test_old_run_targets_are_pruned(tmp_path):
    import os

    from hashiramart_assets.assets.marts import prune_run_targets

    ours = [tmp_path / f"hashiramart_dbt-run{i:02d}-abc" for i in range(13)]
    other = tmp_path / "other_op-run00-abc"
    for i, folder in enumerate([*ours, other]):
        (folder / "compiled").mkdir(parents=True)
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))  # run00 is the oldest
    (tmp_path / "manifest.json").write_text("{}")  # the project's own target files stay
    removed = prune_run_targets(tmp_path, "hashiramart_dbt", keep=10)
    assert removed == ours[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in ours[3:]), other.name,
                                                                 "manifest.json"])


def test_the_wrapped_stdout_reader_exists_on_dagster_dbts_invocation():
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    assert "_stream_stdout" in vars(DbtCliInvocation), "dagster-dbt renamed _stream_stdout: revisit dbt_stdout.py"


def test_dbt_output_is_read_ahead_so_dbt_never_waits_for_the_consumer(tmp_path):
    """Real dbt (no database needed for `ls`): with debug logging and a full parse it writes more than a
    pipe holds, yet it finishes while nobody consumes the events; they then arrive complete and in order."""
    import json

    args = ["--debug", "--no-partial-parse", "ls", "--output", "json"]
    invocation = dbt_resource().cli(args, target_path=tmp_path)
    assert invocation.process.wait(timeout=60) == 0  # would block forever on a full pipe without read-ahead
    events = list(invocation.stream_raw_events())
    assert sum(len(json.dumps(e.raw_event)) for e in events) > 65536  # what a Linux pipe holds
    names = [e.raw_event["info"]["name"] for e in events]
    assert names[0] == "MainReportVersion" and "CommandCompleted" in names[-3:]
    listed = [json.loads(e.raw_event["data"]["msg"])["name"] for e in events
              if e.raw_event["info"]["name"] == "PrintEvent"]  # `ls` prints one node per event
    assert {"daily_sales", "stg_events", "product_popularity"} <= set(listed)
    assert invocation.is_successful()  # dagster-dbt drains the reader once more here: it must not block


def test_a_failing_dbt_command_still_raises_with_read_ahead(tmp_path):
    import pytest
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    with pytest.raises(DagsterDbtCliRuntimeError):
        dbt_resource().cli(["build", "--no-such-option"], target_path=tmp_path).wait()
