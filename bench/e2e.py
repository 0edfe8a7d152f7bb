"""End to end, as Min Side sees it: signed webhooks over HTTP until every event is applied.

    .venv/bin/python bench/e2e.py --stack embedded   # make run: SQLite + filesystem broker
    .venv/bin/python bench/e2e.py --stack real --web 2 --workers 2   # PostgreSQL + Redis

Starts gunicorn, Celery worker(s) and beat on loopback (the embedded stack as `make run`
starts them), then:

  burst   one client process, `--connections` connections, offering `--burst-rate` signed
          `membership.created` events/s for `--burst-seconds`; counts the answers, then how
          long after the last request the queue is empty, and checks every accepted event
          was applied exactly once (one claim each, one member each)
  paced   `--paced-rate` events/s for `--paced-seconds`: lag received → applied, p50/p99

The real stack needs DATABASE_URL / CELERY_BROKER_URL (eval "$(bash .ci/services.sh env)");
it uses its own database `<name>_bench_e2e` and Redis database 14. `--json` prints the
figures as one JSON line at the end. `BENCH_KEEP=1` keeps the run's data directory (the
SQLite file and every process log) for a look afterwards.
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402 - after the path is set

PYTHON = sys.executable
SOURCE = "bench-e2e"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-for-end-to-end-32b!").decode()
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Database:
    """Read-only counts straight from the driver (the harness runs no Django)."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")

    def query(self, sql: str) -> list[tuple]:
        if self.sqlite:
            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"))) as db:
                return db.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as db:
            return db.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]

    def execute(self, sql: str) -> None:
        if self.sqlite:
            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"))) as db:
                db.execute(sql)
                db.commit()
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql)


@contextlib.contextmanager
def stack(args, data_dir: Path):
    """Yield (base URL, Database) with web, worker(s) and beat running on the chosen stack."""
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    admin_url = None
    if args.stack == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
        env["CELERY_BROKER_URL"] = "filesystem://"
    else:
        database_url = os.environ.get("DATABASE_URL", "")
        broker_url = os.environ.get("CELERY_BROKER_URL", "")
        if not (database_url.startswith("postgres") and broker_url.startswith("redis")):
            sys.exit("--stack real needs DATABASE_URL and CELERY_BROKER_URL (.ci/services.sh env)")
        parts = urlsplit(database_url)
        name = f"{parts.path.lstrip('/') or 'minside'}_bench_e2e"
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        common.recreate_database(admin_url, name)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        env["CELERY_BROKER_URL"] = urlunsplit(urlsplit(broker_url)._replace(path="/14"))
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    onboard = (
        "import django; django.setup()\n"
        "from organizations.services import organization_create\n"
        "from webhooks.services import webhook_source_create\n"
        "org = organization_create(slug='bench-e2e', name='Bench')\n"
        f"webhook_source_create(organization=org, identifier={SOURCE!r}, secret={SECRET!r})\n"
    )
    subprocess.run([PYTHON, "-c", onboard], cwd=ROOT, env=env, check=True)
    port = _free_port()
    commands = [
        # make run's gunicorn settings (gthread, 32 threads a worker, the access log).
        [PYTHON, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", str(args.web), "--log-level", "warning"],
        *(
            [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING"]
            + ["--concurrency", str(args.concurrency), "-n", f"bench{n}@%h"]
            for n in range(args.workers)
        ),
        [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING"]
        + ["--schedule", str(data_dir / "beat-schedule")],
    ]
    processes = []
    try:
        for n, command in enumerate(commands):
            log = (data_dir / f"process-{n}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            time.sleep(0.3)
        else:
            sys.exit("the web server did not become ready")
        time.sleep(3)  # let the workers connect to the broker
        yield f"127.0.0.1:{port}", Database(env["DATABASE_URL"])
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        if admin_url:
            common.recreate_database(
                admin_url, urlsplit(env["DATABASE_URL"]).path.lstrip("/"), drop_only=True
            )


def _signed_request(member_id: str) -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "type": "membership.created",
            "source": SOURCE,
            "occurred_at": "2026-11-27T09:15:00Z",
            "data": {"member_id": member_id, "first_name": "Bench", "role": "member"},
        }
    ).encode()
    msg_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
    digest = hmac.new(KEY, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    return body, headers


def offer(address: str, *, rate: float, seconds: float, connections: int) -> dict:
    """Send `rate` requests/s for `seconds` over `connections` threads; count the answers."""
    host, port = address.split(":")
    total = int(rate * seconds)
    statuses: list[int] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        for n in range(index, total, connections):
            while (pause := start + n / rate - time.monotonic()) > 0:
                time.sleep(pause)
            body, headers = _signed_request(f"member-{uuid.uuid4().hex}")
            try:
                conn.request("POST", "/webhooks/dynamics/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            with lock:
                statuses.append(status)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return {
        "offered": total,
        "accepted": statuses.count(202),
        "other": len(statuses) - statuses.count(202),
        "achieved_rate": len(statuses) / elapsed,
        "last_request_at": time.monotonic(),
    }


def _unfinished(db: Database) -> int:
    return db.scalar(
        "SELECT count(*) FROM sync_inboundevent WHERE status IN ('pending', 'processing')"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["embedded", "real"], default="embedded")
    parser.add_argument("--web", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--burst-rate", type=float, default=300)
    parser.add_argument("--burst-seconds", type=float, default=60)
    parser.add_argument("--paced-rate", type=float, default=50)
    parser.add_argument("--paced-seconds", type=float, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    figures: dict = {key: getattr(args, key) for key in ("stack", "web", "workers", "concurrency")}
    try:
        with stack(args, data_dir) as (address, db):
            burst = offer(
                address, rate=args.burst_rate, seconds=args.burst_seconds,
                connections=args.connections,
            )  # fmt: skip
            while _unfinished(db) and time.monotonic() - burst["last_request_at"] < 300:
                time.sleep(0.2)
            burst["drained_after_seconds"] = time.monotonic() - burst["last_request_at"]
            burst["unfinished"] = _unfinished(db)
            burst["members"] = db.scalar("SELECT count(*) FROM organizations_member")
            burst["claims"] = db.query(
                "SELECT attempts, status, count(*) FROM sync_inboundevent GROUP BY 1, 2"
            )
            burst["applied_exactly_once"] = burst["members"] == burst["accepted"] and (
                [(a, s) for a, s, _ in burst["claims"]] == [(1, "succeeded")]
            )
            del burst["last_request_at"]
            figures["burst"] = burst
            print(
                f"burst   {burst['offered']} offered at {args.burst_rate:.0f}/s over "
                f"{args.connections} connections ({burst['achieved_rate']:.0f}/s achieved): "
                f"{burst['accepted']} accepted, "
                f"{burst['other']} other; queue empty {burst['drained_after_seconds']:.1f} s "
                f"after the last request; exactly once: {burst['applied_exactly_once']}"
            )
            db.execute("DELETE FROM sync_inboundevent")
            paced = offer(address, rate=args.paced_rate, seconds=args.paced_seconds, connections=4)
            while _unfinished(db) and time.monotonic() - paced["last_request_at"] < 120:
                time.sleep(0.2)
            lags = [
                float(lag)
                for (lag,) in db.query(
                    "SELECT (julianday(finished_at) - julianday(received_at)) * 86400 "
                    "FROM sync_inboundevent"
                    if db.sqlite
                    else "SELECT extract(epoch FROM finished_at - received_at) "
                    "FROM sync_inboundevent"
                )
                if lag is not None
            ]
            figures["paced"] = {
                "rate": args.paced_rate,
                "accepted": paced["accepted"],
                "lag_p50": statistics.median(lags) if lags else None,
                "lag_p99": common.percentile(lags, 0.99) if lags else None,
            }
            print(
                f"paced   {paced['accepted']} accepted at {args.paced_rate:.0f}/s: lag p50 "
                f"{figures['paced']['lag_p50']:.3f} s, p99 {figures['paced']['lag_p99']:.3f} s"
            )
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(data_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
