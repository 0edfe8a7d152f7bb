"""Benchmark the webhook intake against a bare insert-one-row Django view, same stack, same run.

    .venv/bin/python bench/intake.py [--requests 1500] [--levels 1,4,16] [--paced-seconds 10]

Uses DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis) when set; otherwise starts
throw-away ones with .ci/services.sh (own state dir and ports) and stops them at the end.
A bench database is created next to the given one, migrated, and a source onboarded.
gunicorn serves on loopback; load comes from separate processes, each one connection.
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SOURCE = "bench-source"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-for-the-intake-32b!").decode()
GOAL_RATIO, GOAL_P99_MS = 0.7, 50.0


# --- stack -------------------------------------------------------------------------


@contextlib.contextmanager
def services():
    """Yield (DATABASE_URL, CELERY_BROKER_URL), starting PostgreSQL + Redis if none given."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get(
        "CELERY_BROKER_URL", ""
    ).startswith("redis"):
        yield os.environ["DATABASE_URL"], os.environ["CELERY_BROKER_URL"]
        return
    env = {
        **os.environ,
        "CI_SERVICES_DIR": os.environ.get("BENCH_SERVICES_DIR", "/tmp/minside-bench-services"),
        "CI_PG_PORT": os.environ.get("BENCH_PG_PORT", "55439"),
        "CI_REDIS_PORT": os.environ.get("BENCH_REDIS_PORT", "63809"),
    }
    script = str(ROOT / ".ci" / "services.sh")
    subprocess.run(["bash", script, "start"], env=env, check=True)
    try:
        exports = subprocess.run(
            ["bash", script, "env"], env=env, check=True, capture_output=True, text=True
        ).stdout
        values = dict(
            line.removeprefix("export ").split("=", 1) for line in exports.splitlines() if line
        )
        yield values["DATABASE_URL"], values["CELERY_BROKER_URL"]
    finally:
        subprocess.run(["bash", script, "stop"], env=env, check=False)


def bench_database(database_url: str) -> str:
    """Create a fresh bench database beside the given one; return its URL.

    Named after the given database (`minside` -> `minside_bench`), so two people who
    share one PostgreSQL server with their own databases never drop each other's.
    """
    import psycopg

    parts = urlsplit(database_url)
    name = f"{parts.path.lstrip('/') or 'minside'}_bench"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def django_env(database_url: str, broker_url: str, data_dir: str, **extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "DATA_DIR": data_dir,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }


def prepare(env: dict) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    onboard = (
        "import django; django.setup()\n"
        "from organizations.services import organization_create\n"
        "from webhooks.services import webhook_source_create\n"
        "org = organization_create(slug='bench-org', name='Bench')\n"
        f"webhook_source_create(organization=org, identifier={SOURCE!r}, secret={SECRET!r})\n"
    )
    subprocess.run([PYTHON, "-c", onboard], cwd=ROOT, env=env, check=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, *, settings_module: str, workers: int):
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", str(workers), "--log-level", "warning"]
    process = subprocess.Popen(
        args, cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": settings_module}
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- load (runs in separate processes) ------------------------------------------------


def _request(kind: str) -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "type": "membership.updated",
            "source": SOURCE,
            "occurred_at": "2026-11-27T09:15:00Z",
            "data": {"member_id": str(uuid.uuid4()), "phone": "+4790000000"},
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if kind == "intake":
        msg_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
        headers.update(
            {
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": "v1," + base64.b64encode(digest.digest()).decode(),
            }
        )
    return body, headers


def _client(job: tuple) -> tuple[list[float], int]:
    """One connection: send `count` requests (at `interval` pacing if given); return latencies."""
    port, path, kind, count, interval, start_at = job
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], 0
    while time.monotonic() < start_at:
        time.sleep(0.001)
    for index in range(count):
        if interval:
            due = start_at + index * interval
            while (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
        body, headers = _request(kind)
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 202
        except (OSError, http.client.HTTPException):
            conn.close()
            ok = False
        if ok:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            failures += 1
    conn.close()
    return latencies, failures


def run_load(pool, *, port, path, kind, total, concurrency, rate=None) -> dict:
    """One round: `concurrency` client processes share `total` requests."""
    per_client = max(total // concurrency, 1)
    interval = concurrency / rate if rate else None
    start_at = time.monotonic() + 0.5
    jobs = [(port, path, kind, per_client, interval, start_at) for _ in range(concurrency)]
    results = pool.map(_client, jobs)
    return {
        "latencies": [value for part, _ in results for value in part],
        "failures": sum(failed for _, failed in results),
        "elapsed": time.monotonic() - start_at,
    }


def summary(rounds: list[dict]) -> dict:
    latencies = sorted(value for r in rounds for value in r["latencies"])
    elapsed = sum(r["elapsed"] for r in rounds)
    if not latencies:
        return {"accepted": 0, "failures": sum(r["failures"] for r in rounds), "rps": 0.0,
                "p50": float("nan"), "p99": float("nan")}  # fmt: skip
    return {
        "accepted": len(latencies),
        "failures": sum(r["failures"] for r in rounds),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Webhook intake benchmark")
    parser.add_argument("--requests", type=int, default=1500, help="requests per level")
    parser.add_argument("--levels", default="1,4,16", help="concurrencies")
    parser.add_argument("--paced-seconds", type=int, default=10, help="length of the 100 req/s run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per figure")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3)))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    data_dir = tempfile.mkdtemp(prefix="minside-bench-")
    rounds: dict = {}
    try:
        with services() as (database_url, broker_url):
            env = django_env(bench_database(database_url), broker_url, data_dir)
            prepare(env)
            print(
                f"gunicorn: {args.workers} sync workers per server; load: one process per "
                f"connection; {args.rounds} interleaved rounds per figure"
            )
            with (
                multiprocessing.get_context("spawn").Pool(max(levels + [4])) as pool,
                gunicorn(
                    env, settings_module="bench.settings_baseline", workers=args.workers
                ) as baseline_port,
                gunicorn(
                    env, settings_module="config.settings", workers=args.workers
                ) as intake_port,
            ):
                targets = {
                    "baseline": (baseline_port, "/bench/insert/"),
                    "intake": (intake_port, "/webhooks/dynamics/"),
                }
                for kind, (port, path) in targets.items():  # warm-up: connections, imports
                    run_load(pool, port=port, path=path, kind=kind, total=100, concurrency=4)
                plans = [(level, args.requests, level, None) for level in levels]
                plans.append(("paced", 100 * args.paced_seconds, 4, 100))
                # Interleaved rounds, so load from other processes on the machine hits both.
                for level, total, concurrency, rate in plans:
                    for _ in range(args.rounds):
                        for kind, (port, path) in targets.items():
                            rounds.setdefault((kind, level), []).append(
                                run_load(
                                    pool,
                                    port=port,
                                    path=path,
                                    kind=kind,
                                    total=total // args.rounds,
                                    concurrency=concurrency,
                                    rate=rate,
                                )  # fmt: skip
                            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    figures = {key: summary(value) for key, value in rounds.items()}

    print(f"\n{'concurrency':>11} | {'baseline req/s':>14} {'p50':>7} {'p99':>7} | "
          f"{'intake req/s':>12} {'p50':>7} {'p99':>7} | {'ratio':>5} | failures")  # fmt: skip
    for level in [*levels, "paced"]:
        base, intake = figures[("baseline", level)], figures[("intake", level)]
        ratio = intake["rps"] / base["rps"] if base["rps"] else float("nan")
        label = "100 req/s" if level == "paced" else str(level)
        print(
            f"{label:>11} | {base['rps']:14.0f} {base['p50']:6.1f}ms {base['p99']:6.1f}ms | "
            f"{intake['rps']:12.0f} {intake['p50']:6.1f}ms {intake['p99']:6.1f}ms | "
            f"{ratio:5.2f} | {base['failures']}/{intake['failures']}"
        )
    best = max(levels, key=lambda level: figures[("intake", level)]["rps"])
    ratio = figures[("intake", best)]["rps"] / figures[("baseline", best)]["rps"]
    paced_p99 = figures[("intake", "paced")]["p99"]
    print(
        f"\nGoal: intake >= {GOAL_RATIO} x baseline throughput -> {ratio:.2f} at concurrency "
        f"{best} ({'met' if ratio >= GOAL_RATIO else 'NOT met'}); p99 < {GOAL_P99_MS:.0f} ms at "
        f"100 req/s -> {paced_p99:.1f} ms ({'met' if paced_p99 < GOAL_P99_MS else 'NOT met'})"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "workers": args.workers,
                    "levels": {
                        str(level): {
                            kind: {k: figures[(kind, level)][k] for k in ("rps", "p50", "p99")}
                            for kind in ("baseline", "intake")
                        }
                        for level in [*levels, "paced"]
                    },
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
