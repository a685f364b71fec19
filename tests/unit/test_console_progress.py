"""What a user sees from a long command: progress lines, a quiet terminal, partition ranges; and the embedded
instance's storage those runs write to (every day of a ranged run recorded, no fsync per event)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from hashiramart_assets import runner
from hashiramart_assets.dagster_storage import LocalSqliteStorage, UnsyncedSqliteEventLogStorage
from hashiramart_assets.pipeline import parse_partition_range
from hashiramart_assets.settings import load_settings

DAYS = dg.DailyPartitionsDefinition("2025-01-01", end_date="2025-02-01")  # 31 days


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("positive", asset="daily_a")])
def daily_a(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)},
                                check_results=[dg.AssetCheckResult(check_name="positive", passed=False)])


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[daily_a])
def daily_b(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-06-03", ("2025-06-03", "2025-06-03")),
    ("2025-06-01..2025-06-07", ("2025-06-01", "2025-06-07")),
    ("2025-06-01...2025-06-07", ("2025-06-01", "2025-06-07")),  # as Dagster writes a range
])
def test_partition_ranges_in_both_spellings(text: str, expected: tuple[str, str]) -> None:
    assert parse_partition_range(text) == expected


@pytest.mark.parametrize("text", ["2025-06-07..2025-06-01", "yesterday", "2025-06-01....2025-06-07"])
def test_bad_partition_ranges_are_named(text: str) -> None:
    with pytest.raises(ValueError, match="partition"):
        parse_partition_range(text)


def test_a_ranged_run_prints_one_line_per_asset_and_records_every_day(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = load_settings()
    instance = runner.get_instance(settings)
    lines: list[str] = []
    monkeypatch.setattr(runner, "running_ui_url", lambda: "http://ui")  # as if the Dagster UI were up
    defs = dg.Definitions(assets=[daily_a, daily_b])
    summary = runner.materialize(defs, instance, "*", partition_range=("2025-01-01", "2025-01-31"),
                                 progress=lines.append)
    assert summary.success
    assert f"run {summary.run_id[:8]}: http://ui/runs/{summary.run_id}" in lines
    steps = [line for line in lines if line.startswith("[")]
    assert [line.split(" ✓")[0] for line in steps] == ["[1/2] daily_a", "[2/2] daily_b"]
    assert "      check failed: daily_a:positive" in lines
    assert lines[-1].startswith("2/2 assets in ") and lines[-1].endswith("1 check(s) failed")
    # the unsynced storage is what the embedded instance uses, and it recorded all 31 days of both assets
    assert "class: LocalSqliteStorage" in (settings.dagster_home / "dagster.yaml").read_text()
    assert len(instance.get_materialized_partitions(dg.AssetKey("daily_b"))) == 31
    instance.dispose()
    storage = LocalSqliteStorage(str(settings.dagster_home))  # the same files, as the yaml configures them
    assert isinstance(storage.event_log_storage, UnsyncedSqliteEventLogStorage)
    with storage.event_log_storage.index_connection() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
    assert len(storage.event_log_storage.get_materialized_partitions(dg.AssetKey("daily_a"))) == 31


def test_an_older_embedded_instance_yaml_is_upgraded_and_a_users_own_is_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = load_settings()
    settings.dagster_home.mkdir(parents=True)
    config = settings.dagster_home / "dagster.yaml"
    config.write_text(runner.EMBEDDED_HEADER + ": SQLite storage under DAGSTER_HOME.\ntelemetry:\n  enabled: false\n")
    runner.prepare_dagster_home(settings)
    assert "class: LocalSqliteStorage" in config.read_text()
    config.write_text("telemetry:\n  enabled: false\n")  # a user's own file
    runner.prepare_dagster_home(settings)
    assert config.read_text() == "telemetry:\n  enabled: false\n"


def test_quiet_output_sends_libraries_and_children_to_the_log(tmp_path) -> None:
    """A real process: its print, warnings and a child's output go to the log; say() reaches the terminal."""
    log = tmp_path / "logs" / "cmd.log"
    script = textwrap.dedent(f"""
        import subprocess, sys, warnings
        from pathlib import Path
        from hashiramart_assets import console
        with console.quiet_output(Path({str(log)!r})):
            print("library chatter")
            warnings.warn("a library warning")
            subprocess.run(["sh", "-c", "echo jvm banner; echo jvm error >&2"], check=True)
            console.say("[1/2] raw/orders ✓ 3 s")
        console.say("after")
        print("stdout again")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert "[1/2] raw/orders ✓ 3 s" in done.stderr and "after" in done.stderr
    for noise in ("library chatter", "a library warning", "jvm banner", "jvm error"):
        assert noise not in done.stderr + done.stdout
        assert noise in log.read_text()
    assert done.stdout == "stdout again\n"  # descriptors restored


@dg.asset
def fails_in_user_code() -> None:
    raise ValueError("no reference window before 2025-01-03")


def test_a_failed_step_is_shown_with_the_user_codes_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = runner.get_instance(load_settings())
    lines: list[str] = []
    summary = runner.materialize(dg.Definitions(assets=[fails_in_user_code]), instance, "*", progress=lines.append)
    assert not summary.success
    assert "      ✗ fails_in_user_code failed: ValueError: no reference window before 2025-01-03" in lines, lines
    assert lines[-1].endswith("1 step(s) failed")
    instance.dispose()
