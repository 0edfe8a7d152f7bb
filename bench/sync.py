"""Benchmark of the sync: events applied per second by one worker, and lag at a steady rate.

Runs against the real stack: PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL), e.g.
`eval "$(bash .ci/services.sh env)"; .venv/bin/python bench/sync.py`. It creates its own
database (`<name>_bench_sync`, dropped at the end) and uses Redis database 15, starts one
`celery worker` process, and measures in the same run:

  baseline   the same worker running Celery's built-in no-op task `celery.accumulate` through the
             same broker (tasks/s at saturation)
  saturation N events stored at once with `inbound_event_record` (a mix of member creates,
             profile updates and role changes); events applied/s from commit to last finish
  paced      events stored one by one at a steady rate (default 50/s); lag received →
             finished, p50 / p99

Goal (issue 8): one worker process (default concurrency) applies ≥ 1,000 events/s at
saturation, lag p99 < 1 s at 100 events/s offered. `--workers N` starts N worker processes
(the scaling table of docs/performance.md); `--json` prints the figures as one JSON line.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402 - after the path is set

SCRIPT = "bench/sync.py"


def _wait(predicate, *, timeout: float, what: str) -> None:
    common.wait_for(predicate, timeout=timeout, what=what, script=SCRIPT, interval=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="events at saturation")
    parser.add_argument("--noops", type=int, default=3000, help="no-op tasks for the baseline")
    parser.add_argument("--rates", default="50,100", help="paced events per second, each run")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of a paced run")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict = {"workers": args.workers, "concurrency": args.concurrency}

    bench_db, admin_db, broker = common.bench_urls(script=SCRIPT, suffix="bench_sync", redis_db=15)
    bench_name = urlsplit(bench_db).path.lstrip("/")
    data_dir = tempfile.mkdtemp(prefix="bench-sync-")
    env = {
        **os.environ,
        "DATABASE_URL": bench_db,
        "CELERY_BROKER_URL": broker,
        "DATA_DIR": data_dir,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    common.recreate_database(admin_db, bench_name)
    worker_processes: list = []
    try:
        print(f"database {bench_name}, broker {broker}, worker concurrency {args.concurrency}")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        import redis
        from django.db import transaction
        from django.db.models import Max

        from config.celery import app
        from organizations.models import Member, Organization
        from sync.models import FINISHED_STATUSES, InboundEvent
        from sync.services import inbound_event_record
        from tests.support.servers import celery_worker_args  # the real-stack tests' worker

        redis.Redis.from_url(broker).flushdb()
        organization = Organization.objects.create(slug="bench", name="Bench")
        logs = [Path(data_dir) / f"worker-{n}.log" for n in range(args.workers)]
        for log in logs:
            worker_processes.append(
                subprocess.Popen(
                    celery_worker_args(concurrency=args.concurrency),
                    cwd=ROOT,
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(
            lambda: all("ready" in log.read_text(errors="replace") for log in logs),
            timeout=60,
            what="the workers",
        )
        client = redis.Redis.from_url(broker)

        def broker_empty() -> bool:
            return client.llen("celery") == 0 and client.hlen("unacked") == 0

        # --- baseline: no-op tasks through the same broker and worker ---------------------
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for _ in range(args.noops):
                app.send_task("celery.accumulate", producer=producer, ignore_result=True)
        _wait(broker_empty, timeout=300, what="the no-op tasks")
        noop_rate = args.noops / (time.perf_counter() - started)
        figures["noop_tasks_per_second"] = noop_rate
        print(f"baseline   {args.noops} no-op tasks: {noop_rate:8.1f} tasks/s")

        # --- saturation -------------------------------------------------------------------
        known = [f"bench-known-{n}" for n in range(max(1, args.events // 3))]
        Member.objects.bulk_create(
            Member(organization=organization, portal_member_id=member_id) for member_id in known
        )
        now = "2026-11-27T09:00:00+00:00"

        def normalized(n: int) -> list[dict]:
            kind = n % 3
            if kind == 0:
                data = {"member_id": f"bench-new-{n}", "first_name": "Kari", "role": "member"}
                return [{"type": "membership.created", "occurred_at": now, "data": data}]
            member_id = known[n % len(known)]
            if kind == 1:
                data = {"member_id": member_id, "first_name": f"Name {n}"}
                return [{"type": "membership.updated", "occurred_at": now, "data": data}]
            data = {"member_id": member_id, "role": "peer_mentor"}
            return [{"type": "role.updated", "occurred_at": now, "data": data}]

        def record(n: int) -> None:
            inbound_event_record(
                organization=organization,
                source_identifier="bench",
                webhook_id=f"msg_{uuid.uuid4().hex}",
                payload_format="envelope",
                payload={"bench": n},
                normalized=normalized(n),
            )

        with transaction.atomic():
            for n in range(args.events):
                record(n)
        committed = time.perf_counter()
        committed_at = InboundEvent.objects.aggregate(last=Max("received_at"))["last"]

        def all_finished() -> bool:
            return not InboundEvent.objects.exclude(status__in=FINISHED_STATUSES).exists()

        _wait(all_finished, timeout=600, what="the saturation events")
        wall = time.perf_counter() - committed
        last_finished = InboundEvent.objects.aggregate(last=Max("finished_at"))["last"]
        db_span = (last_finished - committed_at).total_seconds()
        rate = args.events / max(db_span, 1e-9)
        figures["events_per_second"] = rate
        figures["ratio"] = rate / noop_rate
        statuses = Counter(InboundEvent.objects.values_list("status", flat=True))
        figures["statuses"] = dict(statuses)
        figures["applied_once"] = statuses == Counter({"succeeded": args.events}) and set(
            InboundEvent.objects.values_list("attempts", flat=True)
        ) == {1}
        print(
            f"saturation {args.events} events: {rate:8.1f} events/s "
            f"(commit → last finished {db_span:.2f} s; wall {wall:.2f} s; {dict(statuses)})"
        )

        # --- paced ------------------------------------------------------------------------
        figures["paced"] = {}
        offset = args.events
        for paced_rate in [float(rate) for rate in args.rates.split(",")]:
            InboundEvent.objects.all().delete()
            total = int(paced_rate * args.seconds)
            interval = 1.0 / paced_rate
            start = time.perf_counter()
            for n in range(total):
                delay = start + n * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                record(n + offset)
            offset += total
            _wait(all_finished, timeout=120, what="the paced events")
            lags = [
                (finished - received).total_seconds()
                for received, finished in InboundEvent.objects.values_list(
                    "received_at", "finished_at"
                )
            ]
            p50, p99 = statistics.median(lags), common.percentile(lags, 0.99)
            figures["paced"][str(int(paced_rate))] = {"p50": p50, "p99": p99, "max": max(lags)}
            print(
                f"paced      {total} events at {paced_rate:.0f}/s: "
                f"lag p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(lags):.3f} s"
            )
        print(f"ratio      sync events/s ÷ no-op tasks/s = {rate / noop_rate:.2f}")
        if args.json:
            print(json.dumps(figures))
    finally:
        for worker in worker_processes:
            if worker.poll() is None:
                os.killpg(worker.pid, 15)
        for worker in worker_processes:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        from django.db import connections

        connections.close_all()
        common.recreate_database(admin_db, bench_name, drop_only=True)


if __name__ == "__main__":
    main()
