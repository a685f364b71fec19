"""Serving benchmark: uvicorn on loopback with really trained champions, driven by a raw-socket load generator.

What it does: generates shop data into a temporary HASHIRAMART_HOME, starts an embedded Postgres there,
trains and registers both models (MLflow SQLite), writes marts.daily_sales, starts
``uvicorn serving.app:app`` (one worker, uvloop + httptools, no access log) on a free loopback port, then
measures, for GET /health (the bare endpoint: the stack's ceiling), POST /recommend,
GET /recommendations/me and GET /forecasts/sales:

* saturation: closed loop, C keep-alive connections, as fast as the server answers -> max rps, latency;
* fixed rate: open loop at R requests/s (latency counted from the scheduled send time, so a slow
  server cannot hide queueing: no coordinated omission) -> p50/p95/p99 at that rate;
* soak (``--soak-seconds``): /recommend at the fixed rate, errors and the server's RSS every second.

The load generator is a separate process (multiprocessing, spawn) running an asyncio HTTP/1.1 client
on raw sockets: httpx costs ~10x more CPU per request and would measure itself on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "benchmarks" / "reports"
sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------------------------- load generator
def _request(method: str, path: str, token: str | None, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


async def _connection(port: int, requests: list[bytes], offset: int, deadline: float, interval: float | None,
                      start: float, out: list[tuple[float, int]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    scheduled = start + (offset % 1000) * (interval or 0) / 1000  # spread the connections' first sends
    try:
        while True:
            if interval is not None:
                now = time.perf_counter()
                if scheduled > now:
                    await asyncio.sleep(scheduled - now)
                sent_at = scheduled
                scheduled += interval
            else:
                sent_at = time.perf_counter()
            if sent_at >= deadline:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                out.append((time.perf_counter() - sent_at, 599))
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            out.append((time.perf_counter() - sent_at, status))
    finally:
        writer.close()


def _drive(port: int, requests: list[bytes], connections: int, seconds: float, rate: float | None,
           queue: mp.Queue) -> None:
    """Child process: run the connections, send back (latencies, statuses, elapsed)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> tuple[list[tuple[float, int]], float]:
        out: list[tuple[float, int]] = []
        start = time.perf_counter() + 0.05
        deadline = start + seconds
        interval = connections / rate if rate else None
        await asyncio.gather(*(_connection(port, requests, c, deadline, interval, start, out)
                               for c in range(connections)))
        return out, time.perf_counter() - start

    out, elapsed = asyncio.run(main())
    queue.put(([o[0] for o in out], [o[1] for o in out], elapsed))


def run_load(port: int, requests: list[bytes], connections: int, seconds: float, rate: float | None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_drive, args=(port, requests, connections, seconds, rate, queue))
    process.start()
    latencies, statuses, elapsed = queue.get(timeout=seconds + 120)
    process.join(timeout=30)
    return summarise(latencies, statuses, elapsed)


def summarise(latencies: list[float], statuses: list[int], elapsed: float) -> dict:
    import numpy as np

    lat = np.array(latencies) * 1000.0
    errors = sum(1 for s in statuses if s >= 400)
    pct = np.percentile(lat, [50, 95, 99]) if len(lat) else [float("nan")] * 3
    return {"requests": len(lat), "errors": errors, "rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(float(pct[0]), 3), "p95_ms": round(float(pct[1]), 3), "p99_ms": round(float(pct[2]), 3),
            "max_ms": round(float(lat.max()), 3) if len(lat) else None}


# --------------------------------------------------------------------------------------------- the world
def prepare(home: Path, events: int, days: int) -> dict:
    """Data, Postgres, trained champions; returns what the load needs (customers, products)."""
    import mlflow
    import pandas as pd
    import sqlalchemy
    from mlflow.tracking import MlflowClient

    from hashiramart_assets.datagen import GeneratorConfig, generate
    from hashiramart_assets.ml import registry
    from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
    from hashiramart_assets.ml.forecast.params import ForecasterParams
    from hashiramart_assets.ml.recommender.interactions import as_of_date, build_interactions
    from hashiramart_assets.ml.recommender.params import RecommenderParams
    from hashiramart_assets.ml.registration import Lineage
    from hashiramart_assets.ml.tracking import ensure_experiment
    from hashiramart_assets.ml.train_forecaster import train_forecaster
    from hashiramart_assets.ml.train_recommender import RecommenderInputs, train_recommender
    from hashiramart_assets.services.postgres import postgres_url
    from hashiramart_assets.settings import load_settings
    from tests.serving.conftest import daily_sales_from_orders  # the pandas twin of the dbt model

    settings = load_settings()
    generate(GeneratorConfig(events=events, days=days, seed=7), settings.landing_dir)
    landing = settings.landing_dir
    orders, events_df = pd.read_parquet(landing / "orders"), pd.read_parquet(landing / "events")
    products = pd.read_parquet(landing / "products.parquet")
    customers = pd.read_parquet(landing / "customers.parquet")
    for frame in (orders, events_df):
        frame["date"] = frame["date"].astype(str)
    orders["product_id"] = orders["product_id"].astype(str)
    products["product_id"] = products["product_id"].astype(str)
    url = postgres_url(settings)
    daily = daily_sales_from_orders(orders, products)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("create schema if not exists marts"))
    daily.to_sql("daily_sales", engine, schema="marts", if_exists="replace", index=False)
    engine.dispose()
    ensure_experiment(settings.mlflow_tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
    mlflow.set_experiment(settings.mlflow_experiment)
    client = MlflowClient(settings.mlflow_tracking_uri)
    lineage = Lineage("bench", "bench", {"data": "1"})
    inputs = RecommenderInputs(build_interactions(orders, events_df, as_of_date(orders, events_df)), orders,
                               events_df, customers, products)
    rec = train_recommender(inputs, RecommenderParams(), lineage, client)
    registry.promote(client, registry.RECOMMENDER, rec.registration.version, "benchmark")
    fc = train_forecaster(history_from_daily_sales(daily), ForecasterParams(horizon=14, n_estimators=100), lineage,
                          client)
    registry.promote(client, registry.FORECASTER, fc.registration.version, "benchmark")
    return {"customers": sorted(int(c) for c in orders["customer_id"].unique()),
            "products": sorted(daily.loc[daily["grain"] == "product", "item_id"].unique()),  # with sales history
            "n_products": len(products),
            "n_customers": int(customers["customer_id"].nunique()), "order_lines": len(orders)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    import httpx

    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=os.environ.copy(), start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("API not ready after 180 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def soak(port: int, pid: int, requests: list[bytes], connections: int, seconds: float, rate: float) -> dict:
    """The fixed-rate load for ``seconds`` in one child process while this process samples the server's RSS."""
    import psutil

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_drive, args=(port, requests, connections, seconds, rate, queue))
    server = psutil.Process(pid)
    child.start()
    rss: list[tuple[float, float]] = []
    begin = time.monotonic()
    while child.is_alive() and queue.empty():
        rss.append((round(time.monotonic() - begin, 1), round(server.memory_info().rss / 2**20, 1)))
        time.sleep(1.0)
    latencies, statuses, elapsed = queue.get(timeout=seconds + 120)
    child.join(timeout=30)
    result = summarise(latencies, statuses, elapsed)
    values = [r for _, r in rss] or [0.0]
    tail = values[len(values) // 2:] or values
    result.update(seconds=seconds, rate=rate, rss_mb_start=values[0], rss_mb_end=values[-1], rss_mb_max=max(values),
                  rss_mb_growth_second_half=round(tail[-1] - tail[0], 1), rss_samples=rss)
    return result


# --------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="generated clickstream events")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (saturation runs)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s of the fixed-rate runs and the soak")
    parser.add_argument("--soak-seconds", type=float, default=20.0, help="soak duration (600 = the 10-minute soak)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write benchmarks/reports")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hm-bench-serving-", dir="/tmp"))
    home.chmod(0o755)  # the embedded Postgres runs as an unprivileged user when we are root
    env_keys = ("HASHIRAMART_HOME", "HASHIRAMART_POSTGRES_URL", "MLFLOW_TRACKING_URI", "DAGSTER_HOME")
    for key in env_keys:
        os.environ.pop(key, None)
    os.environ.update(HASHIRAMART_HOME=str(home), HASHIRAMART_ADMIN_PASSWORD="bench-admin-password",
                      HASHIRAMART_MODEL_POLL_SECONDS="30", OPENBLAS_NUM_THREADS="1", HASHIRAMART_ENV="dev")
    server = None
    t0 = time.perf_counter()
    try:
        world = prepare(home, args.events, args.days)
        prepare_seconds = round(time.perf_counter() - t0, 1)
        port = free_port()
        server = start_server(port)
        import httpx

        base = f"http://127.0.0.1:{port}"
        admin = httpx.post(f"{base}/auth/token", data={"username": "admin", "password": "bench-admin-password"}).json()
        admin_token = admin["access_token"]
        customer = world["customers"][0]
        signup = httpx.post(f"{base}/users", json={"username": "benchuser", "password": "bench-password",
                                                   "customer_id": customer},
                            headers={"Authorization": f"Bearer {admin_token}"})
        assert signup.status_code == 201, signup.text
        user_token = httpx.post(f"{base}/auth/token",
                                data={"username": "benchuser", "password": "bench-password"}).json()["access_token"]
        customers = world["customers"][:500]
        endpoints = {
            "GET /health (bare)": [_request("GET", "/health", None, None)],
            "POST /recommend": [_request("POST", "/recommend", admin_token,
                                         json.dumps({"customer_id": c, "k": 10}).encode()) for c in customers],
            "GET /recommendations/me": [_request("GET", "/recommendations/me?k=10", user_token, None)],
            "GET /forecasts/sales": [_request("GET", f"/forecasts/sales?product_id={p}", user_token, None)
                                     for p in world["products"]],
        }
        for name, reqs in endpoints.items():  # warm-up, and proof every request is a 200
            result = run_load(port, reqs, 4, 1.0, None)
            assert result["errors"] == 0, (name, result)
        results: dict[str, dict] = {}
        for name, reqs in endpoints.items():
            results[name] = {
                "saturation": run_load(port, reqs, args.connections, args.seconds, None),
                "fixed_rate": run_load(port, reqs, max(8, args.connections), args.seconds, args.rate),
            }
            print(name, json.dumps(results[name]), flush=True)
        soak_result = soak(port, server.pid, endpoints["POST /recommend"], max(8, args.connections), args.soak_seconds,
                           args.rate)
        print("soak", json.dumps({k: v for k, v in soak_result.items() if k != "rss_samples"}), flush=True)
    finally:
        if server is not None:
            stop_server(server)
        from hashiramart_assets.services.postgres import EmbeddedPostgres

        EmbeddedPostgres(home / "postgres").stop()
        shutil.rmtree(home, ignore_errors=True)

    bare = results["GET /health (bare)"]["saturation"]["rps"]
    rec = results["POST /recommend"]
    targets = {
        "recommend_p95_ms_at_rate<=10": rec["fixed_rate"]["p95_ms"] <= 10.0 and rec["fixed_rate"]["rps"] >= 0.95 * 1000,
        "recommend_saturation_rps>=1000": rec["saturation"]["rps"] >= 1000,
        "recommend_rps>=50%_of_bare": rec["saturation"]["rps"] >= 0.5 * bare,
        "soak_zero_errors": soak_result["errors"] == 0,
    }
    command = "python benchmarks/bench_serving.py " + " ".join(sys.argv[1:])
    report = {"command": command.strip(), "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                      "platform": platform.platform()},
              "data": world | {"customers": len(world["customers"]), "products": world["n_products"]},
              "prepare_seconds": prepare_seconds, "args": vars(args), "results": results, "soak": soak_result,
              "targets_met": targets}
    report["data"].pop("n_products", None)
    if not args.no_report:
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / "serving.json").write_text(json.dumps(report, indent=2) + "\n")
        (REPORTS / "serving.md").write_text(markdown(report, bare))
    print(json.dumps(targets, indent=2))


def markdown(report: dict, bare: float) -> str:
    args = report["args"]
    lines = [
        "# Serving API benchmark", "",
        f"Command: `{report['command']}`", "",
        f"Machine: {report['machine']['cpus']} CPUs (shared with other work), Python {report['machine']['python']}. "
        "Server: one uvicorn worker (uvloop, httptools, no access log) on loopback with the really trained champions "
        f"({report['data']['products']} products, {report['data']['customers']} customers with orders). "
        "Load: a separate process running an asyncio raw-socket HTTP/1.1 keep-alive client.", "",
        f"Saturation = closed loop with {args['connections']} connections; fixed rate = open loop at {args['rate']:g} "
        "requests/s, latency from the scheduled send time (no coordinated omission). "
        f"Each run {args['seconds']:g} s.", "",
        "| endpoint | saturation rps | % of bare | p50 ms | p95 ms | p99 ms | fixed-rate rps | p50 ms | p95 ms | "
        "p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        s, f = r["saturation"], r["fixed_rate"]
        lines.append(f"| {name} | {s['rps']:,.0f} | {100 * s['rps'] / bare:.0f} % | {s['p50_ms']} | {s['p95_ms']} | "
                     f"{s['p99_ms']} | {f['rps']:,.0f} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | "
                     f"{s['errors'] + f['errors']} |")
    soak = report["soak"]
    lines += [
        "", f"Soak: POST /recommend at {soak['rate']:g} requests/s for {soak['seconds']:g} s: {soak['requests']:,} "
        f"requests, {soak['errors']} errors, p95 {soak['p95_ms']} ms, p99 {soak['p99_ms']} ms; server RSS "
        f"{soak['rss_mb_start']} MB at start, {soak['rss_mb_end']} MB at the end (max {soak['rss_mb_max']} MB, "
        f"{soak['rss_mb_growth_second_half']:+} MB over the second half).", "",
        "Targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in report["targets_met"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
