"""What the benchmarks share: the real stack's URLs, throw-away databases, waiting, percentiles."""

import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit


def fail(script: str, message: str) -> None:
    print(f"{script}: {message}", file=sys.stderr)
    sys.exit(2)


def bench_urls(*, script: str, suffix: str, redis_db: int) -> tuple[str, str, str]:
    """(bench database URL, admin database URL, bench broker URL) beside the given stack."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        fail(script, 'needs DATABASE_URL=postgres://… (eval "$(bash .ci/services.sh env)")')
    if not broker_url.startswith("redis://"):
        fail(script, "needs CELERY_BROKER_URL=redis://…")
    parts = urlsplit(database_url)
    bench_name = f"{parts.path.lstrip('/') or 'minside'}_{suffix}"
    bench_db = urlunsplit(parts._replace(path=f"/{bench_name}"))
    admin_db = urlunsplit(parts._replace(path="/postgres"))
    bench_broker = urlunsplit(urlsplit(broker_url)._replace(path=f"/{redis_db}"))
    return bench_db, admin_db, bench_broker


def recreate_database(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def wait_for(predicate, *, timeout: float, what: str, script: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    fail(script, f"timed out after {timeout:.0f} s waiting for {what}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]
