"""Online-experiment benchmark: what a 50 % champion/challenger split costs POST /recommend.

Issue 17's benchmark. The world is bench_serving's (embedded Postgres, MLflow SQLite, generated data, uvicorn
``serving.app:app`` on a free loopback port, the raw-socket load generator in its own process), with two
registered recommender versions: the champion (default hyperparameters) and a challenger (other factors and
seed, alias ``challenger``). Two data sizes:

* small (bench_serving's size, ~500 customers): the load cycles over all customers, so after the warm-up every
  answer comes from the API's answer cache: what the split costs on the cheapest path;
* large (10M events over a year: 50,000 customers): every customer is asked exactly once per run, in a
  random order, on a freshly started server: no answer is cached (cold cache), each request scores.

Each size is measured without an experiment and with one at 50 % (PUT /admin/experiments/<model>), as
saturation (closed loop, C connections, as fast as the server answers) and at a fixed rate (open loop,
latency from the scheduled send time: no coordinated omission). Conditions alternate within rounds; the
report takes each condition's median over rounds. A sample of answers checks that about half go to the
challenger, that ``model_version`` is the variant's version and that a customer always gets the same variant.

The generated data and the trained models are kept under /tmp/hm-bench-experiments/<size>-<events>-<days>/
(``--reuse`` starts from there; without it the folder is rebuilt). Nothing is written in the repository but
benchmarks/reports/experiments.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "benchmarks" / "reports"
sys.path.insert(0, str(REPO))

from benchmarks.bench_serving import (  # noqa: E402  (the repository root must be on the path first)
    _read_response,
    _request,
    free_port,
    start_server,
    stop_server,
    summarise,
)

CACHE_ROOT = Path("/tmp/hm-bench-experiments")
MODEL = "hashiramart-recommender"
ADMIN_PASSWORD = "bench-admin-password"
CHALLENGER_PARAMS = {"factors": 32, "seed": 11}  # the champion has the defaults (16 factors, seed 42)
LOAD_LIMIT = 1.5  # 1-minute load average below which a reported measurement starts
LOAD_WAIT_S = 600.0
BUSY_LIMIT = 0.3  # cores busy on the machine while the API idles, below which a run may start
QUIET = {"max_wait": LOAD_WAIT_S}  # --max-wait
FORECAST_PRODUCTS = 50  # large world: the forecaster (not measured here) sees the top products only


# --------------------------------------------------------------------------------------------- the machine
def load1() -> float:
    return round(os.getloadavg()[0], 2)


def busy_cores(seconds: float = 3.0) -> float:
    """Cores the whole machine keeps busy over ``seconds`` (measured between runs: the API is idle then)."""
    import psutil

    def busy() -> float:
        t = psutil.cpu_times()
        return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)

    before, start = busy(), time.monotonic()
    time.sleep(seconds)
    return round((busy() - before) / (time.monotonic() - start), 2)


def wait_for_quiet(limit: float | None = LOAD_LIMIT, max_wait: float | None = None) -> dict:
    """Wait (at most ``max_wait`` s) until the 1-minute load average is below ``limit`` and, measured directly,
    the machine keeps less than BUSY_LIMIT cores busy (the load average lags: it stays up for a minute after
    others stop, and a process that starts right after it fell below the limit is missed). ``limit`` None: the
    busy cores only (between the runs of a round, whose own load keeps the average up for a minute)."""
    max_wait = QUIET["max_wait"] if max_wait is None else max_wait
    begin = time.monotonic()
    while True:
        busy = busy_cores()
        quiet = (limit is None or load1() < limit) and busy < BUSY_LIMIT
        if quiet or time.monotonic() - begin >= max_wait:
            break
        time.sleep(5)
    return {"load1": load1(), "busy_cores": busy, "waited_s": round(time.monotonic() - begin, 1), "quiet": quiet}


class CpuMeter:
    """CPU seconds of the whole machine and of the server (uvicorn, the embedded Postgres) over a measurement."""

    def __init__(self, server_pid: int, postgres_dir: Path) -> None:
        import psutil

        self.psutil = psutil
        self.server_pid = server_pid
        self.postgres_dir = postgres_dir

    def _tree(self, pid: int | None) -> float:
        if pid is None:
            return 0.0
        ps = self.psutil
        try:
            root = ps.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except ps.Error:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except ps.Error:
                pass
        return total

    def _postmaster(self) -> int | None:
        try:
            return int((self.postgres_dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def snapshot(self) -> tuple[float, float, float, float]:
        t = self.psutil.cpu_times()
        busy = t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)
        return time.monotonic(), busy, self._tree(self.server_pid), self._tree(self._postmaster())

    @staticmethod
    def delta(before: tuple[float, float, float, float], after: tuple[float, float, float, float],
              loadgen_cpu: float, requests: int) -> dict:
        wall = after[0] - before[0]
        busy, api, pg = (after[i] - before[i] for i in (1, 2, 3))
        other = max(0.0, busy - api - pg - loadgen_cpu)
        return {"api_cpu_us_per_request": round(1e6 * api / max(1, requests), 1),
                "postgres_cpu_us_per_request": round(1e6 * pg / max(1, requests), 1),
                "api_cores": round(api / wall, 2), "postgres_cores": round(pg / wall, 2),
                "loadgen_cores": round(loadgen_cpu / wall, 2), "other_cores": round(other / wall, 2)}


# --------------------------------------------------------------------------------------------- load generator
async def _distinct_connection(port: int, requests: list[bytes], cursor: list[int], deadline: float,
                               hard_deadline: float, interval: float | None, first: float,
                               out: list[tuple[float, int]]) -> None:
    """Like bench_serving's connection, but requests come from a shared cursor: each is sent once, none repeats.

    At a fixed rate a request is due at its scheduled time; one due before ``deadline`` is still sent late
    (its latency counts from the schedule), but nothing is sent after ``hard_deadline``: a server that cannot
    keep up is not given unbounded time, the requests it never got are counted as unsent.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    scheduled = first
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
            if sent_at >= deadline or cursor[0] >= len(requests) or time.perf_counter() >= hard_deadline:
                break
            request = requests[cursor[0]]
            cursor[0] += 1
            writer.write(request)
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


def _drive(port: int, requests: list[bytes], connections: int, seconds: float, rate: float | None, distinct: bool,
           grace: float, queue: mp.Queue) -> None:
    """Child process: run the load; send back (latencies, statuses, elapsed, own CPU seconds).

    ``distinct``: every request of the list once at most (shared cursor), nothing sent later than ``grace``
    seconds after the end; otherwise the list is cycled, connection c starting at request c (bench_serving's).
    """
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from benchmarks.bench_serving import _connection

    async def main() -> tuple[list[tuple[float, int]], float]:
        out: list[tuple[float, int]] = []
        start = time.perf_counter() + 0.05
        deadline = start + seconds
        interval = connections / rate if rate else None
        if distinct:
            cursor = [0]
            await asyncio.gather(*(
                _distinct_connection(port, requests, cursor, deadline, deadline + grace, interval,
                                     start + c * (interval or 0) / connections, out)
                for c in range(connections)))
        else:
            await asyncio.gather(*(_connection(port, requests, c, deadline, interval, start, out)
                                   for c in range(connections)))
        return out, time.perf_counter() - start

    out, elapsed = asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(([o[0] for o in out], [o[1] for o in out], elapsed, usage.ru_utime + usage.ru_stime))


def run_load(port: int, requests: list[bytes], connections: int, seconds: float, rate: float | None,
             distinct: bool = False, meter: CpuMeter | None = None, grace: float = 5.0) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_drive, args=(port, requests, connections, seconds, rate, distinct, grace, queue))
    before = meter.snapshot() if meter else None
    load_before = load1()
    process.start()
    latencies, statuses, elapsed, loadgen_cpu = queue.get(timeout=seconds + grace + 600)
    after = meter.snapshot() if meter else None
    process.join(timeout=30)
    result = summarise(latencies, statuses, elapsed)
    result.update(seconds=round(elapsed, 1), load1_before=load_before, load1_after=load1())
    if rate:
        due = min(len(requests), int(rate * seconds)) if distinct else int(rate * seconds)
        result.update(rate=rate, due=due, unsent=max(0, due - len(latencies)))
    if meter and before and after:
        result.update(CpuMeter.delta(before, after, loadgen_cpu, len(latencies)))
    return result


# --------------------------------------------------------------------------------------------- the world
def _forecast_mart(daily, products_kept: int | None):
    """marts.daily_sales for the forecaster; ``products_kept``: only the best-selling products' series."""
    if products_kept is None:
        return daily
    product_rows = daily["grain"] == "product"
    top = (daily.loc[product_rows].groupby("item_id")["revenue"].sum().nlargest(products_kept).index)
    return daily.loc[~product_rows | daily["item_id"].isin(top)].reset_index(drop=True)


def prepare(home: Path, events: int, days: int, large: bool) -> dict:
    """Data, Postgres, champion + challenger recommenders, a forecaster; what the load needs, with timings."""
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

    timings: dict[str, float] = {}
    t = time.perf_counter()
    settings = load_settings()
    generate(GeneratorConfig(events=events, days=days, seed=7), settings.landing_dir)
    timings["generate_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    landing = settings.landing_dir
    orders, events_df = pd.read_parquet(landing / "orders"), pd.read_parquet(landing / "events")
    products = pd.read_parquet(landing / "products.parquet")
    customers = pd.read_parquet(landing / "customers.parquet")
    for frame in (orders, events_df):
        frame["date"] = frame["date"].astype(str)
    orders["product_id"] = orders["product_id"].astype(str)
    products["product_id"] = products["product_id"].astype(str)
    url = postgres_url(settings)
    daily = _forecast_mart(daily_sales_from_orders(orders, products), FORECAST_PRODUCTS if large else None)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("create schema if not exists marts"))
    daily.to_sql("daily_sales", engine, schema="marts", if_exists="replace", index=False)
    engine.dispose()
    interactions = build_interactions(orders, events_df, as_of_date(orders, events_df))
    inputs = RecommenderInputs(interactions, orders, events_df, customers, products)
    timings["load_and_marts_s"] = round(time.perf_counter() - t, 1)
    ensure_experiment(settings.mlflow_tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
    mlflow.set_experiment(settings.mlflow_experiment)
    client = MlflowClient(settings.mlflow_tracking_uri)
    lineage = Lineage("bench", "bench", {"data": "1"})
    t = time.perf_counter()
    champion = train_recommender(inputs, RecommenderParams(), lineage, client)
    timings["train_champion_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    challenger_version = register_challenger(inputs, RecommenderParams(**CHALLENGER_PARAMS))
    timings["train_challenger_s"] = round(time.perf_counter() - t, 1)
    registry.promote(client, registry.RECOMMENDER, champion.registration.version, "benchmark champion")
    registry.mark_challenger(client, registry.RECOMMENDER, challenger_version)
    t = time.perf_counter()
    fc = train_forecaster(history_from_daily_sales(daily), ForecasterParams(horizon=14, n_estimators=100), lineage,
                          client)
    registry.promote(client, registry.FORECASTER, fc.registration.version, "benchmark")
    timings["train_forecaster_s"] = round(time.perf_counter() - t, 1)
    known = champion.model.fitted.customer_ids
    return {
        "events": len(events_df), "order_lines": len(orders), "days": days,
        "customers": int(customers["customer_id"].nunique()),
        "customers_with_orders": int(orders["customer_id"].nunique()),
        "customers_known_to_model": len(known),
        "known_customer_ids": [int(c) for c in known],
        "products": len(products),
        "forecast_products": int(daily.loc[daily["grain"] == "product", "item_id"].nunique()),
        "champion_version": str(champion.registration.version),
        "challenger_version": challenger_version,
        "champion_params": RecommenderParams().to_dict(),
        "challenger_params": CHALLENGER_PARAMS,
        "champion_ndcg_at_10": champion.metrics.get("ndcg_at_10"),
        "prepare_timings": timings,
    }


def register_challenger(inputs, params) -> str:
    """Fit and register a second recommender version without evaluating it (the online experiment judges it).

    train_recommender would evaluate it on a holdout and refit the champion's hyperparameters to compare: two
    extra fits that take minutes at 10M events and that this benchmark does not need.
    """
    import tempfile

    import mlflow

    from hashiramart_assets.ml import registry
    from hashiramart_assets.ml.recommender import pyfunc as recommender_pyfunc
    from hashiramart_assets.ml.recommender.model import HybridRecommender
    from hashiramart_assets.ml.registration import log_params_json

    model = HybridRecommender(params).fit(inputs.interactions, inputs.orders)
    with mlflow.start_run(run_name="bench-challenger"), tempfile.TemporaryDirectory() as tmp:
        log_params_json(params.to_dict())
        info = mlflow.pyfunc.log_model(name="model", registered_model_name=registry.RECOMMENDER,
                                       **recommender_pyfunc.pyfunc_log_kwargs(model, Path(tmp)))
    return str(info.registered_model_version)


def world_home(size: str, events: int, days: int) -> Path:
    return CACHE_ROOT / f"{size}-{events}-{days}"


def stop_postgres(home: Path) -> None:
    from hashiramart_assets.services.postgres import EmbeddedPostgres

    EmbeddedPostgres(home / "postgres").stop()


def use_home(home: Path) -> None:
    for key in ("HASHIRAMART_HOME", "HASHIRAMART_POSTGRES_URL", "MLFLOW_TRACKING_URI", "DAGSTER_HOME"):
        os.environ.pop(key, None)
    os.environ.update(HASHIRAMART_HOME=str(home), HASHIRAMART_ADMIN_PASSWORD=ADMIN_PASSWORD,
                      HASHIRAMART_MODEL_POLL_SECONDS="30", OPENBLAS_NUM_THREADS="1", HASHIRAMART_ENV="dev")


def ensure_world(size: str, events: int, days: int, reuse: bool) -> tuple[Path, dict]:
    """The cached world of this size (``reuse``) or a new one; the process's environment points at it."""
    home = world_home(size, events, days)
    marker = home / "world.json"
    use_home(home)
    if reuse and marker.exists():
        world = json.loads(marker.read_text())
        world["reused"] = True
        return home, world
    if home.exists():
        stop_postgres(home)
        shutil.rmtree(home)
    home.mkdir(parents=True)
    for folder in (CACHE_ROOT, home):  # the embedded Postgres runs as an unprivileged user when we are root
        folder.chmod(0o755)
    t = time.perf_counter()
    world = prepare(home, events, days, large=size == "large")
    world["prepare_s"] = round(time.perf_counter() - t, 1)
    marker.write_text(json.dumps(world))
    world["reused"] = False
    return home, world


# --------------------------------------------------------------------------------------------- the API
class Api:
    def __init__(self, port: int) -> None:
        import httpx

        self.base = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.base, timeout=30)
        token = self.http.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        self.token = token["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def set_share(self, share: float) -> dict:
        r = self.http.put(f"/admin/experiments/{MODEL}", json={"challenger_share": share}, headers=self.headers)
        assert r.status_code < 300, (r.status_code, r.text)
        body = r.json()
        if share > 0:  # the challenger is loaded and this worker routes to it
            assert body["experiment"] and body["experiment"]["serving"], body
        return body

    def experiments(self) -> list:
        r = self.http.get("/admin/experiments", headers=self.headers)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def recommend(self, customer_id: int) -> dict:
        r = self.http.post("/recommend", json={"customer_id": customer_id, "k": 10}, headers=self.headers)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def metrics_text(self) -> str:
        return self.http.get("/metrics").text

    def close(self) -> None:
        self.http.close()


def recommend_requests(token: str, customers: list[int]) -> list[bytes]:
    return [_request("POST", "/recommend", token, json.dumps({"customer_id": c, "k": 10}).encode())
            for c in customers]


def check_answers(api: Api, customers: list[int], world: dict, share: float) -> dict:
    """Variant shares, model_version per variant, and stickiness (the same customer asked twice) on a sample."""
    variants: Counter[str] = Counter()
    versions: Counter[tuple[str, str]] = Counter()
    first: dict[int, str] = {}
    for c in customers:
        body = api.recommend(c)
        variants[body.get("variant", "<missing>")] += 1
        versions[(body.get("variant", "<missing>"), str(body.get("model_version")))] += 1
        first[c] = body.get("variant", "<missing>")
    again = customers[: max(1, len(customers) // 5)]
    sticky = sum(api.recommend(c).get("variant") == first[c] for c in again)
    expected = {"champion": world["champion_version"], "challenger": world["challenger_version"]}
    hash_mismatches = None
    active = [e for e in api.experiments() if e.get("model_name", MODEL) == MODEL]
    if active and share > 0:  # the variant is the one the hash of (customer, experiment) gives
        from hashiramart_assets.experiments.assignment import variant as assigned

        experiment_id = int(active[0]["id"])
        hash_mismatches = sum(assigned(c, experiment_id, share) != first[c] for c in customers)
    mismatched = sum(n for (variant, version), n in versions.items() if expected.get(variant) != version)
    n = len(customers)
    challenger_share = variants.get("challenger", 0) / n
    # a binomial share: 4 standard errors around the set share
    tolerance = 4 * (share * (1 - share) / n) ** 0.5 + 1e-9
    return {"sample": n, "variants": dict(variants),
            "model_versions": {f"{v}->{ver}": k for (v, ver), k in sorted(versions.items())},
            "challenger_share": round(challenger_share, 4), "share_within_4_se": abs(challenger_share - share)
            <= tolerance, "model_version_mismatches": mismatched, "asked_again": len(again),
            "same_variant_again": sticky, "hash_assignment_mismatches": hash_mismatches}


def served_by_variant(metrics_text: str) -> dict[str, float]:
    """hashiramart_recommendations_served_total per variant from the API's /metrics."""
    out: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("hashiramart_recommendations_served_total{"):
            labels, value = line.rsplit(" ", 1)
            variant = labels.split('variant="', 1)[1].split('"', 1)[0] if 'variant="' in labels else "?"
            out[variant] = out.get(variant, 0.0) + float(value)
    return out


# --------------------------------------------------------------------------------------------- measurements
CONDITIONS = {"no experiment": 0.0, "experiment 50 %": 0.5}


def start_api(port: int, workers: int) -> subprocess.Popen:
    """bench_serving's server (one worker), or ``workers`` uvicorn workers under one parent process."""
    if workers == 1:
        return start_server(port)
    import httpx

    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=os.environ.copy(), start_new_session=True)
    deadline, ready = time.monotonic() + 300, 0
    while time.monotonic() < deadline and ready < 3 * workers:  # several 200s: every worker has started
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            ready += httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10).status_code == 200
        time.sleep(0.5)
    return process


def set_condition(api: Api, share: float, workers: int) -> None:
    api.set_share(share)
    if workers > 1:  # the other workers see the change at their next poll of app.experiments
        time.sleep(float(os.environ.get("HASHIRAMART_EXPERIMENT_POLL_SECONDS", "5")) + 1.5)


def server_rss_mb(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        return round(sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20, 1)
    except psutil.Error:
        return 0.0


def measure_small(world: dict, home: Path, args: argparse.Namespace, log: list[str]) -> dict:
    """Warm cache: a few hundred customers cycled; both conditions alternate in one server."""
    port = free_port()
    server = start_api(port, args.workers)
    api = Api(port)
    meter = CpuMeter(server.pid, home / "postgres")
    runs: dict[str, dict[str, list[dict]]] = {name: {"saturation": [], "fixed_rate": []} for name in CONDITIONS}
    checks: dict[str, dict] = {}
    try:
        customers = world["known_customer_ids"][: args.small_customers]
        requests = recommend_requests(api.token, customers)
        for name, share in CONDITIONS.items():  # warm-up of both variants' caches; proof every request is a 200
            set_condition(api, share, args.workers)
            warm = run_load(port, requests, 4, 2.0, None)
            assert warm["errors"] == 0, (name, warm)
        api.set_share(0.5)
        checks["experiment 50 %"] = check_answers(api, customers, world, 0.5)
        checks["experiment 50 %"]["active_experiments"] = api.experiments()
        api.set_share(0.0)
        checks["no experiment"] = check_answers(api, customers[:100], world, 0.0)
        for rnd in range(args.rounds):
            first, second = list(CONDITIONS) if rnd % 2 == 0 else list(reversed(CONDITIONS))
            for i, name in enumerate((first, second, second, first)):  # ABBA: a trend within the round cancels out
                quiet = wait_for_quiet(LOAD_LIMIT if i == 0 else None)
                set_condition(api, CONDITIONS[name], args.workers)
                run_load(port, requests, 4, 1.0, None)  # a new experiment loads a new challenger handle: warm it
                sat = run_load(port, requests, args.connections, args.seconds, None, meter=meter)
                fixed = run_load(port, requests, max(8, args.connections), args.seconds, args.rate, meter=meter)
                for r in (sat, fixed):
                    r.update(round=rnd, round_start=quiet, rss_mb=server_rss_mb(server.pid))
                runs[name]["saturation"].append(sat)
                runs[name]["fixed_rate"].append(fixed)
                line = (f"small round {rnd + 1} {name}: sat {sat['rps']:.0f} rps p95 {sat['p95_ms']} ms "
                        f"({sat.get('api_cpu_us_per_request')} us API CPU/request); {args.rate:g} rps p95 "
                        f"{fixed['p95_ms']} ms (load {quiet['load1']}, other cores {sat.get('other_cores')}/"
                        f"{fixed.get('other_cores')})")
                print(line, flush=True)
                log.append(line)
        checks["served_by_variant_metric"] = served_by_variant(api.metrics_text())
    finally:
        api.close()
        stop_server(server)
    return {"runs": runs, "checks": checks}


def measure_large(world: dict, home: Path, args: argparse.Namespace, log: list[str]) -> dict:
    """Cold cache: a fresh server per run; every customer of the run asked once, in a random order.

    Per round and condition: (1) a server for the fixed-rate run (the ``--distinct`` customers at ``--rate``);
    (2) a server for the saturation run (the same customers, another order, at most ``--large-max-seconds``),
    then on that server a light load (a quarter of the saturation rate, 4 connections) with the known customers
    outside the sample, never asked on that server: the per-request service time without queueing.
    """
    known = world["known_customer_ids"]
    rng = random.Random(17)
    customers = rng.sample(known, min(args.distinct, len(known)))
    chosen = set(customers)
    held_out = [c for c in known if c not in chosen]
    runs: dict[str, dict[str, list[dict]]] = {name: {"saturation": [], "fixed_rate": [], "light": []}
                                              for name in CONDITIONS}
    checks: dict[str, dict] = {}
    startup: list[float] = []

    def record(name: str, kind: str, rnd: int, result: dict, quiet: dict, api: Api, pid: int) -> None:
        result.update(round=rnd, round_start=quiet, rss_mb=server_rss_mb(pid),
                      served_by_variant=served_by_variant(api.metrics_text()))
        runs[name][kind].append(result)
        line = (f"large round {rnd + 1} {name} {kind}: {result['requests']} requests, {result['rps']:.0f} rps, "
                f"p50 {result['p50_ms']} p95 {result['p95_ms']} p99 {result['p99_ms']} ms, errors "
                f"{result['errors']}, unsent {result.get('unsent', '-')} (load {quiet['load1']}, other cores "
                f"{result.get('other_cores')}, API CPU {result.get('api_cpu_us_per_request')} us/request, "
                f"RSS {result['rss_mb']} MB)")
        print(line, flush=True)
        log.append(line)

    for rnd in range(args.large_rounds):
        order = list(CONDITIONS) if rnd % 2 == 0 else list(reversed(CONDITIONS))
        for name in order:
            for kind in ("fixed_rate", "saturation"):
                port = free_port()
                t = time.perf_counter()
                server = start_api(port, args.workers)
                startup.append(round(time.perf_counter() - t, 1))
                api = Api(port)
                try:
                    set_condition(api, CONDITIONS[name], args.workers)
                    meter = CpuMeter(server.pid, home / "postgres")
                    shuffled = customers[:]
                    random.Random(rnd * 10 + (kind == "fixed_rate")).shuffle(shuffled)
                    requests = recommend_requests(api.token, shuffled)
                    quiet = wait_for_quiet()
                    if kind == "fixed_rate":
                        result = run_load(port, requests, max(8, args.connections), len(requests) / args.rate,
                                          args.rate, distinct=True, meter=meter)
                        record(name, kind, rnd, result, quiet, api, server.pid)
                        if rnd == 0:
                            sample = rng.sample(customers, 2000)
                            checks[name] = check_answers(api, sample, world, CONDITIONS[name])
                            checks[name]["served_by_variant_metric"] = served_by_variant(api.metrics_text())
                        continue
                    result = run_load(port, requests, args.connections, args.large_max_seconds, None,
                                      distinct=True, meter=meter, grace=0.0)
                    record(name, kind, rnd, result, quiet, api, server.pid)
                    rest = held_out[:]
                    random.Random(rnd).shuffle(rest)
                    rest += shuffled[result["requests"]:]  # customers the saturation run did not reach, if any
                    light_rate = max(1.0, round(result["rps"] / 4, 1))
                    seconds = min(args.light_seconds, len(rest) / light_rate)
                    if seconds >= 2:
                        light = run_load(port, recommend_requests(api.token, rest), 4, seconds, light_rate,
                                         distinct=True, meter=meter)
                        record(name, "light", rnd, light, quiet, api, server.pid)
                finally:
                    api.close()
                    stop_server(server)
    return {"runs": runs, "checks": checks, "server_start_s": startup, "distinct_customers": len(customers),
            "held_out_customers": len(held_out)}


# --------------------------------------------------------------------------------------------- baseline
def serving_baseline(revs: list[str], seconds: float) -> list[dict]:
    """benchmarks/bench_serving.py of each revision ("HEAD" = the working tree), one after the other, same day.

    Each runs in its own temporary world (bench_serving's defaults at --events 60000 --days 120): what the
    machine gives today without any experiment code, to compare with the figures above and with
    benchmarks/reports/serving.md (measured on another day).
    """
    out = []
    for rev in revs:
        if rev == "HEAD":
            tree = REPO
            sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                 text=True).stdout.strip() + " + working tree"
        else:
            tree = Path(f"/tmp/hm-bench-experiments-baseline-{rev}")
            if not tree.exists():
                tree.mkdir(parents=True)
                archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
                subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            sha = rev
        quiet = wait_for_quiet()
        proc = subprocess.run(
            [sys.executable, "benchmarks/bench_serving.py", "--no-report", "--events", "60000", "--days", "120",
             "--seconds", str(seconds), "--soak-seconds", "5"],
            cwd=tree, capture_output=True, text=True, timeout=1800,
            env={k: v for k, v in os.environ.items() if k not in ("HASHIRAMART_HOME", "HASHIRAMART_POSTGRES_URL",
                                                                   "MLFLOW_TRACKING_URI", "DAGSTER_HOME")})
        results = {}
        for line in proc.stdout.splitlines():
            for name in ("GET /health (bare)", "POST /recommend"):
                if line.startswith(name + " {"):
                    results[name] = json.loads(line[len(name) + 1:])
        entry = {"rev": sha, "load1_before": quiet["load1"], "results": results}
        if proc.returncode != 0 or len(results) < 2:
            entry["error"] = (proc.stderr or proc.stdout)[-2000:]
        print("baseline", json.dumps(entry), flush=True)
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------------- summary
def median_run(runs: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms", "api_cpu_us_per_request", "postgres_cpu_us_per_request",
            "other_cores", "rss_mb")
    if not runs:
        return {}
    out = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys if all(k in r for r in runs)}
    out["errors"] = sum(r["errors"] for r in runs)
    out["requests"] = sum(r["requests"] for r in runs)
    if all("due" in r for r in runs):
        out["rate"] = runs[0]["rate"] if len({r["rate"] for r in runs}) == 1 else None
        out["due"] = sum(r["due"] for r in runs)
        out["unsent"] = sum(r["unsent"] for r in runs)
    out["rounds"] = len(runs)
    return out


def _pct(new: float, old: float) -> float:
    return round(100 * (new / old - 1), 1) if old else float("nan")


def paired(runs: dict, kind: str, key: str) -> list[float]:
    """Per round: (experiment / no experiment - 1) in %, each condition's mean over its runs of the round."""
    def by_round(name: str) -> dict[int, float]:
        values: dict[int, list[float]] = {}
        for r in runs[name].get(kind, []):
            if key in r:
                values.setdefault(r["round"], []).append(r[key])
        return {rnd: statistics.fmean(v) for rnd, v in values.items()}

    base, exp = by_round("no experiment"), by_round("experiment 50 %")
    return [_pct(exp[rnd], base[rnd]) for rnd in sorted(exp) if rnd in base]


def summarise_size(measured: dict) -> dict:
    runs = measured["runs"]
    summary = {name: {kind: median_run(r) for kind, r in kinds.items()} for name, kinds in runs.items()}
    cost: dict[str, float | list[float] | None] = {}
    for label, kind, key, sign in (("saturation_rps_loss_pct", "saturation", "rps", -1),
                                   ("fixed_rate_p95_increase_pct", "fixed_rate", "p95_ms", 1),
                                   ("saturation_p95_increase_pct", "saturation", "p95_ms", 1),
                                   ("api_cpu_per_request_increase_pct", "saturation", "api_cpu_us_per_request", 1),
                                   ("light_p95_increase_pct", "light", "p95_ms", 1)):
        per_round = [sign * v for v in paired(runs, kind, key)]
        if not per_round:
            continue
        cost[label] = round(statistics.median(per_round), 1)  # median of the paired rounds
        cost[label + "_rounds"] = per_round
        base, exp = summary["no experiment"][kind], summary["experiment 50 %"][kind]
        cost[label + "_of_medians"] = round(sign * _pct(exp[key], base[key]), 1)
    summary["split_cost"] = cost
    return summary


# --------------------------------------------------------------------------------------------- main
def code_state() -> dict:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "serving", "hashiramart_assets").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "subject": git("log", "-1", "--format=%s")[:160],
            "uncommitted_serving_or_assets_files": dirty}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="small,large", help="comma-separated: small, large")
    parser.add_argument("--small-events", type=int, default=60_000)
    parser.add_argument("--small-days", type=int, default=120)
    parser.add_argument("--large-events", type=int, default=12_500_000,
                        help="10M events give 42,585 customers known to the model; 12.5M about 50,000 with orders")
    parser.add_argument("--large-days", type=int, default=365)
    parser.add_argument("--small-customers", type=int, default=500, help="customers cycled in the small runs")
    parser.add_argument("--distinct", type=int, default=50_000, help="distinct customers per large run")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each small run")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of the small runs (A B B A each)")
    parser.add_argument("--large-rounds", type=int, default=2, help="rounds of the large runs")
    parser.add_argument("--large-max-seconds", type=float, default=150.0, help="cap of a large saturation run")
    parser.add_argument("--light-seconds", type=float, default=20.0, help="light-load run after it (large)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (saturation runs)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s of the fixed-rate runs")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (hashiramart serve runs one)")
    parser.add_argument("--baseline", default="",
                        help="comma-separated git revisions (HEAD = working tree) whose bench_serving.py runs first, "
                             "for today's figures without experiments, e.g. a78ea12,HEAD")
    parser.add_argument("--max-wait", type=float, default=LOAD_WAIT_S,
                        help=f"seconds to wait for a quiet machine (load average < {LOAD_LIMIT}, < {BUSY_LIMIT} cores "
                             "busy) before each run")
    parser.add_argument("--reuse", action="store_true", help="start from the cached worlds under " + str(CACHE_ROOT))
    parser.add_argument("--prepare-only", action="store_true", help="build (or check) the worlds, measure nothing")
    parser.add_argument("--no-report", action="store_true",
                        help=f"write the report to {CACHE_ROOT}/last-report.* instead of benchmarks/reports")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: re-render benchmarks/reports/experiments.md from its .json")
    parser.add_argument("--notes", type=Path, help="markdown file kept in the report as its notes section")
    args = parser.parse_args()
    QUIET["max_wait"] = args.max_wait
    if args.render:
        report = json.loads((REPORTS / "experiments.json").read_text())
        if args.notes:
            report["notes"] = args.notes.read_text()
        report["targets_met"] = targets(report)
        (REPORTS / "experiments.json").write_text(json.dumps(report, indent=2) + "\n")
        (REPORTS / "experiments.md").write_text(markdown(report))
        print(json.dumps(report["targets_met"], indent=2))
        return

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    shape = {"small": (args.small_events, args.small_days), "large": (args.large_events, args.large_days)}
    report: dict = {"command": ("python benchmarks/bench_experiments.py " + " ".join(sys.argv[1:])).strip(),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform()},
                    "code": code_state(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "args": vars(args), "sizes": {}}
    print("code", json.dumps(report["code"]), flush=True)
    log: list[str] = []
    if args.baseline and not args.prepare_only:
        report["baseline"] = serving_baseline([r.strip() for r in args.baseline.split(",") if r.strip()],
                                              args.seconds)
    for size in sizes:
        events, days = shape[size]
        home, world = ensure_world(size, events, days, args.reuse)
        data = {k: v for k, v in world.items() if k != "known_customer_ids"}
        print(size, json.dumps(data), flush=True)
        entry: dict = {"data": data, "home": str(home)}
        report["sizes"][size] = entry
        try:
            if args.prepare_only:
                continue
            measured = measure_small(world, home, args, log) if size == "small" else \
                measure_large(world, home, args, log)
            entry.update(measured)
            entry["summary"] = summarise_size(measured)
            print(size, json.dumps(entry["summary"]), flush=True)
        finally:
            stop_postgres(home)
    if args.prepare_only:
        return
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    report["log"] = log
    if args.notes:
        report["notes"] = args.notes.read_text()
    report["targets_met"] = targets(report)
    print(json.dumps(report["targets_met"], indent=2))
    out_dir = CACHE_ROOT if args.no_report else REPORTS  # --no-report: the last report under /tmp
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "last-report" if args.no_report else "experiments"
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(report))
    print("report:", out_dir / f"{stem}.md")


def targets(report: dict) -> dict[str, bool]:
    out: dict[str, bool] = {}
    rate = report["args"]["rate"]
    for size, entry in report["sizes"].items():
        cost = entry["summary"]["split_cost"]
        out[f"{size}: split costs <= 10 % of saturation throughput"] = cost["saturation_rps_loss_pct"] <= 10.0
        summary = entry["summary"]
        if any(summary[name]["fixed_rate"].get("unsent", 0) for name in CONDITIONS):
            # the rate is beyond the server: both p95 are the backlog's age, not the split's cost
            out[f"{size}: split costs <= 10 % of p95 (saturation p95: {rate:g} rps is beyond the server)"] = (
                cost["saturation_p95_increase_pct"] <= 10.0)
        else:
            out[f"{size}: split costs <= 10 % of p95 at {rate:g} rps"] = cost["fixed_rate_p95_increase_pct"] <= 10.0
        checks = entry["checks"].get("experiment 50 %", {})
        out[f"{size}: variants ~50 %, model_version matches, sticky, hash assignment"] = bool(
            checks.get("share_within_4_se") and checks.get("model_version_mismatches") == 0
            and checks.get("same_variant_again") == checks.get("asked_again")
            and not checks.get("hash_assignment_mismatches"))
        if size == "large":
            for name in CONDITIONS:
                fixed = entry["summary"][name]["fixed_rate"]
                out[f"large cold cache, {name}: p95 <= 10 ms at {rate:g} rps"] = (
                    fixed["p95_ms"] <= 10.0 and fixed["rps"] >= 0.95 * rate and fixed["errors"] == 0
                    and fixed.get("unsent", 0) == 0)
    return out


def _ms(v: float | None) -> str:
    if v is None or v == "":
        return ""
    return f"{v:,.0f}" if v >= 1000 else (f"{v:.1f}" if v >= 100 else f"{v:.2f}")


def _cost(cost: dict, key: str) -> str:
    if key not in cost:
        return "n/a"
    rounds = ", ".join(f"{v:+.1f}" for v in cost[key + "_rounds"])
    return f"**{cost[key]:+.1f} %** (rounds: {rounds}; of the medians {cost[key + '_of_medians']:+.1f} %)"


def markdown(report: dict) -> str:
    args = report["args"]
    code = report["code"]
    dirty = code["uncommitted_serving_or_assets_files"]
    lines = [
        "# Online experiments: what a 50 % split costs POST /recommend", "",
        f"Command: `{report['command']}` (from {report['started']} to {report['finished']})", "",
        f"Code: {code['commit']} ({code['subject']})"
        + (f", with uncommitted changes in {', '.join(dirty)}" if dirty else "") + ".", "",
        f"Machine: {report['machine']['cpus']} CPUs (shared with other work), Python {report['machine']['python']}, "
        f"{report['machine']['platform']}. Server: {args['workers']} uvicorn worker(s) (uvloop, httptools, no access "
        "log) on loopback, embedded Postgres (impressions) on the same machine; load from a separate process "
        "(benchmarks/bench_serving.py's asyncio raw-socket HTTP/1.1 keep-alive client). Saturation = closed loop, "
        f"{args['connections']} connections; fixed rate = open loop at {args['rate']:g} requests/s, latency from "
        "the scheduled send time (no coordinated omission). Before each run the harness waits (at most "
        f"{args['max_wait']:g} s) for a 1-minute load average below {LOAD_LIMIT} (at the start of a round) and "
        f"less than {BUSY_LIMIT} cores busy on the whole machine (3 s sample, the API idle); 'other cores' is "
        "the CPU the rest of the machine used during a run (all busy CPU minus the API, its Postgres and the load "
        "generator).", "",
        "Split cost = median over rounds of (experiment / no experiment - 1), each condition's mean within the "
        "round, both measured in the same round, so a machine that drifts between rounds cancels out; the ratio "
        "of the conditions' medians over all runs is shown too.", "",
    ]
    for size, entry in report["sizes"].items():
        d = entry["data"]
        lines += [f"## {size}", ""]
        if size == "small":
            lines.append(
                f"{d['events']:,} events over {d['days']} days, {d['customers_known_to_model']:,} customers known to "
                f"the model; the load cycles over {min(args['small_customers'], d['customers_known_to_model'])} "
                "of them, so after the warm-up every answer is in the API's answer cache (both variants'). "
                f"{args['rounds']} rounds, each A B B A (A = the condition that starts, alternating), "
                f"{args['seconds']:g} s per run; medians over all runs.")
        else:
            lines.append(
                f"{d['events']:,} events over {d['days']} days, {d['order_lines']:,} order lines, "
                f"{d['customers_with_orders']:,} customers with orders, {d['customers_known_to_model']:,} known to "
                f"the model, {d['products']:,} products. (10M events give 50,000 customers of whom 39,984 ordered "
                "and 42,585 are known to the model: hence 12.5M.) Every run asks "
                f"{entry['distinct_customers']:,} distinct known customers once each, in a random order, on a "
                f"freshly started server (cold answer cache); the fixed-rate run is {entry['distinct_customers']:,} "
                f"requests due over {entry['distinct_customers'] / args['rate']:g} s; a saturation run stops after "
                f"{args['large_max_seconds']:g} s. {args['large_rounds']} rounds; medians.")
        lines += [
            "", f"Champion v{d['champion_version']} (default hyperparameters), challenger v{d['challenger_version']} "
            f"({d['challenger_params']}, fitted on the same data, registered as @challenger).", "",
            "| condition | saturation rps | p50 ms | p95 ms | p99 ms | API CPU µs/req | Postgres CPU µs/req | "
            f"at {args['rate']:g} rps: achieved rps | p50 ms | p95 ms | p99 ms | errors | API RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in CONDITIONS:
            s, f = entry["summary"][name]["saturation"], entry["summary"][name]["fixed_rate"]
            lines.append(
                f"| {name} | {s['rps']:,.0f} | {_ms(s['p50_ms'])} | {_ms(s['p95_ms'])} | {_ms(s['p99_ms'])} | "
                f"{s.get('api_cpu_us_per_request', 0):,.0f} | {s.get('postgres_cpu_us_per_request', 0):,.0f} | "
                f"{f['rps']:,.0f} | {_ms(f['p50_ms'])} | {_ms(f['p95_ms'])} | {_ms(f['p99_ms'])} | "
                f"{s['errors'] + f['errors']} | {s.get('rss_mb', '')} |")
        if size == "large":
            lines += ["", "Cold cache in detail (medians): requests the fixed-rate run could send of those due (a "
                      "request not sent within 5 s of the run's end is not sent); light = a quarter of the "
                      "saturation rate on 4 connections, customers not asked before on that server: the service "
                      "time without queueing.", "",
                      "| condition | fixed rate: sent / due | light rps | light p50 ms | light p95 ms | light p99 ms | "
                      "light API CPU µs/req |", "|---|---:|---:|---:|---:|---:|---:|"]
            for name in CONDITIONS:
                f, light = entry["summary"][name]["fixed_rate"], entry["summary"][name].get("light") or {}
                lines.append(f"| {name} | {f['requests']:,} / {f.get('due', 0):,} | {light.get('rps', '')} | "
                             f"{_ms(light.get('p50_ms'))} | {_ms(light.get('p95_ms'))} | "
                             f"{_ms(light.get('p99_ms'))} | {light.get('api_cpu_us_per_request', '')} |")
        cost = entry["summary"]["split_cost"]

        lines += ["", f"Split cost: saturation throughput lost {_cost(cost, 'saturation_rps_loss_pct')}; p95 at "
                  f"{args['rate']:g} rps {_cost(cost, 'fixed_rate_p95_increase_pct')}; saturation p95 "
                  f"{_cost(cost, 'saturation_p95_increase_pct')}; API CPU per request "
                  f"{_cost(cost, 'api_cpu_per_request_increase_pct')}"
                  + (f"; light-load p95 {_cost(cost, 'light_p95_increase_pct')}" if "light_p95_increase_pct" in cost
                     else "") + ".", ""]
        checks = entry["checks"].get("experiment 50 %")
        if checks:
            lines += [
                f"Answers checked at 50 %: {checks['sample']:,} customers, variants {checks['variants']} "
                f"(challenger share {checks['challenger_share']}), model versions {checks['model_versions']} "
                f"({checks['model_version_mismatches']} mismatches), {checks['same_variant_again']} of "
                f"{checks['asked_again']} asked again got the same variant, "
                f"{checks['hash_assignment_mismatches']} differ from hash(customer, experiment) "
                "(hashiramart_assets.experiments.assignment).", ""]
        every = [r for kinds in entry["runs"].values() for rs in kinds.values() for r in rs]
        loads = [r["round_start"]["load1"] for r in every]
        waited = [r["round_start"]["waited_s"] for r in every]
        others = [r.get("other_cores", 0.0) for r in every]
        unquiet = sum(1 for r in every if not r["round_start"].get("quiet", True))
        lines += [f"Load average (1 min) when the runs started: {min(loads)} to {max(loads)} (waited up to "
                  f"{max(waited):g} s for a quiet machine; {unquiet} of {len(every)} runs started without one); CPU "
                  f"used by other processes during the runs: {min(others)} to {max(others)} cores.", ""]
        lines += ["Runs:", "", "| round | condition | kind | requests | rps | p50 ms | p95 ms | p99 ms | errors | "
                  "API CPU µs/req | load1 before | other cores |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
                  "---:|---:|"]
        for name, kinds in entry["runs"].items():
            for kind, rs in kinds.items():
                for r in rs:
                    lines.append(f"| {r['round'] + 1} | {name} | {kind} | {r['requests']:,} | {r['rps']:,.0f} | "
                                 f"{_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | {_ms(r['p99_ms'])} | {r['errors']} | "
                                 f"{r.get('api_cpu_us_per_request', 0):,.0f} | {r['load1_before']} | "
                                 f"{r.get('other_cores', '')} |")
        lines.append("")
    if report.get("baseline"):
        lines += ["## The same machine today without experiments", "",
                  "benchmarks/bench_serving.py (its own world, 5 s runs, no experiment code in the older revision) "
                  "run just before the measurements above; benchmarks/reports/serving.md was measured on another "
                  "day (POST /recommend 4,590 rps, p95 6.1 ms at 1,000 rps; bare /health 6,752 rps).", "",
                  "| revision | load1 before | bare /health rps | POST /recommend rps | p95 ms | "
                  f"at {args['rate']:g} rps: p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for b in report["baseline"]:
            res = b["results"]
            if "POST /recommend" not in res:
                lines.append(f"| {b['rev']} | {b['load1_before']} | failed | | | | | |")
                continue
            bare, rec = res["GET /health (bare)"]["saturation"], res["POST /recommend"]
            lines.append(f"| {b['rev']} | {b['load1_before']} | {bare['rps']:,.0f} | {rec['saturation']['rps']:,.0f} "
                         f"| {_ms(rec['saturation']['p95_ms'])} | {_ms(rec['fixed_rate']['p50_ms'])} | "
                         f"{_ms(rec['fixed_rate']['p95_ms'])} | {_ms(rec['fixed_rate']['p99_ms'])} |")
        lines.append("")
    if report.get("notes"):
        lines += ["## Notes (written after the run)", "", report["notes"].strip(), ""]
    lines += ["## Targets", ""]
    lines += [f"- {k}: **{'met' if v else 'NOT met'}**" for k, v in report["targets_met"].items()]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
