"""Benchmark: a new user's first command, `hashiramart demo --no-ui`, on an empty home and the default data.

Why: the first hour of a new user (issue 16) starts with this command; its time and what it prints are
the platform's first impression. This runs the real command in a fresh temporary home and records the
wall time, the terminal's line count, the time of each stage from the command's own progress lines
(`[n/N] asset ✓ s`), the load average around the run (2 shared cores: other work slows it down), and how
long the full log is. Usage::

    .venv/bin/python benchmarks/bench_demo.py [--label after] [--keep]

Writes benchmarks/reports/demo.md and demo.json (runs with other labels in the JSON are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPORTS = ROOT / "benchmarks" / "reports"
STEP = re.compile(r"^\[hashiramart (\d\d:\d\d:\d\d)\] \[(\d+)/(\d+)\] (\S+) ✓ (\d+) s$")
NOT_EMBEDDED = ("HASHIRAMART_POSTGRES_URL", "MLFLOW_TRACKING_URI", "DAGSTER_HOME", "HASHIRAMART_LAKE_URI",
                "HASHIRAMART_LANDING_DIR")


def run_demo(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED} | {"HASHIRAMART_HOME": str(home)}
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run([str(BIN / "hashiramart"), "demo", "--no-ui"], env=env, capture_output=True, text=True,
                          timeout=3600)
    seconds = time.monotonic() - started
    lines = (done.stdout + done.stderr).splitlines()
    steps = [{"asset": m.group(4), "seconds": int(m.group(5))} for m in map(STEP.match, lines) if m]
    logs = sorted((home / "logs").glob("demo-*.log"))
    return {
        "returncode": done.returncode, "seconds": round(seconds, 1), "terminal_lines": len(lines),
        "terminal_warnings": sum("warning" in line.lower() for line in lines),
        "log_lines": len(logs[-1].read_text(errors="replace").splitlines()) if logs else None,
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "steps": steps, "terminal": lines,
    }


def write_report(runs: dict[str, dict]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "demo.json").write_text(json.dumps(runs, indent=2))
    out = ["# `hashiramart demo --no-ui` on an empty home (default data: 200,000 events, 365 days)", "",
           "`.venv/bin/python benchmarks/bench_demo.py --label <label>`; 2 shared cores.", "",
           "| run | wall s | terminal lines | warnings on the terminal | full-log lines | load before / after |",
           "|---|---|---|---|---|---|"]
    for label, run in runs.items():
        out.append(f"| {label} | {run['seconds']} | {run['terminal_lines']} | {run['terminal_warnings']} | "
                   f"{run['log_lines']} | {run['load_before']} / {run['load_after']} |")
    last_label, last = list(runs.items())[-1]
    if last.get("steps"):
        out += ["", f"Per asset ({last_label}; seconds since its step started, from the progress lines):", "",
                "| asset | s |", "|---|---|"]
        out += [f"| {s['asset']} | {s['seconds']} |" for s in last["steps"]]
        out += ["", "Terminal output:", "", "```", *last["terminal"], "```"]
    (REPORTS / "demo.md").write_text("\n".join(out) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="now")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hm-demo-bench-"))
    home.chmod(0o755)  # the embedded Postgres runs as 'nobody' when the user is root: it must enter the home
    try:
        run = run_demo(home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    runs = json.loads((REPORTS / "demo.json").read_text()) if (REPORTS / "demo.json").exists() else {}
    runs[args.label] = run
    write_report(runs)
    print(json.dumps({k: v for k, v in run.items() if k not in ("terminal", "steps")}, indent=2))


if __name__ == "__main__":
    main()
