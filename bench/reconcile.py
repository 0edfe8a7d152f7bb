"""Benchmark of reconciliation (SPEC §5.1) against the fake Dataverse on loopback.

Runs against the real stack: PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL), e.g.
`eval "$(bash .ci/services.sh env)"; .venv/bin/python bench/reconcile.py`. It creates its own
database (`<name>_bench_reconcile`, dropped at the end), uses Redis database 14, starts the
fake Dataverse in this process and one `celery worker` process, and measures:

  full pass   N contacts never sent by webhook (default 100,000): Web API requests made,
              requests per 5 minutes against Dataverse's ≈ 6,000 service-protection limit,
              rows/s read and recorded (pages of 5,000, one transaction per page)
  applied     the worker applying the recorded events: events/s (= healed changes/s)
  no change   a delta pass with nothing changed: requests made (goal: one per table)
  1 % change  a delta pass after 1 % of the contacts changed: rows, requests, duration

The worker runs while the pass records (as in production). --apply 0: the pass alone.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402 - after the path is set

SERVICE_PROTECTION_REQUESTS_PER_5_MIN = 6000


SCRIPT = "bench/reconcile.py"


def _wait(predicate, *, timeout: float, what: str) -> None:
    common.wait_for(predicate, timeout=timeout, what=what, script=SCRIPT, interval=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--apply", type=int, default=1, help="1: a worker applies the events; 0: the pass alone"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    args = parser.parse_args()

    bench_db, admin_db, broker = common.bench_urls(
        script=SCRIPT, suffix="bench_reconcile", redis_db=14
    )
    bench_name = urlsplit(bench_db).path.lstrip("/")
    data_dir = tempfile.mkdtemp(prefix="bench-reconcile-")
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
    worker = None
    fake = None
    try:
        print(f"database {bench_name}, broker {broker}, {args.contacts} contacts")
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
        from django.db.models import Max, Min

        from dataverse.fake_server import FakeDataverse
        from dataverse.services import dataverse_connection_set, reconcile_pass_run
        from organizations.models import Member, Organization
        from sync.models import FINISHED_STATUSES, InboundEvent
        from tests.support.servers import celery_worker_args
        from webhooks.models import WebhookSource

        redis.Redis.from_url(broker).flushdb()
        fake = FakeDataverse(client_secret="bench-secret-value-0000").start()  # noqa: S106
        started = time.perf_counter()
        ids = fake.seed_contacts(args.contacts)
        print(f"fake       seeded {len(ids)} contacts in {time.perf_counter() - started:.1f} s")
        organization = Organization.objects.create(slug="bench", name="Bench")
        source = WebhookSource.objects.create(organization=organization, identifier="bench")
        dataverse_connection_set(
            source=source,
            environment_url=fake.url,
            authority_url=fake.url,
            tenant_id=fake.tenant,
            client_id=fake.client_id,
            client_secret=fake.client_secret,
        )

        if args.apply:
            log = Path(data_dir) / "worker.log"
            worker = subprocess.Popen(
                celery_worker_args(concurrency=args.concurrency),
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            _wait(lambda: "ready" in log.read_text(errors="replace"), timeout=60, what="worker")

        # --- full pass ----------------------------------------------------------------
        before = dict(fake.stats)
        record = reconcile_pass_run(source=source)
        if record.status != "succeeded":
            common.fail(SCRIPT, f"full pass failed: {record.error}")
        seconds = record.duration.total_seconds()
        api = fake.stats["api"] - before["api"]
        tokens = fake.stats["token"] - before["token"]
        per_5_min = (api + tokens) / max(seconds, 1.0) * 300
        print(
            f"full pass  {record.rows_read} rows, {record.pages} pages, {api} Web API requests "
            f"+ {tokens} token, {seconds:.1f} s: {record.rows_read / seconds:,.0f} rows/s read "
            f"and recorded ({record.events_recorded} events)"
        )
        print(
            f"           ≈ {per_5_min:,.0f} requests per 5 min at this pace "
            f"(limit ≈ {SERVICE_PROTECTION_REQUESTS_PER_5_MIN:,}): "
            f"{'within' if per_5_min <= SERVICE_PROTECTION_REQUESTS_PER_5_MIN else 'OVER'}"
        )

        # --- applied by the worker, while the pass goes on ---------------------------------
        if worker is not None:

            def all_finished() -> bool:
                return not InboundEvent.objects.exclude(status__in=FINISHED_STATUSES).exists()

            _wait(all_finished, timeout=3600, what="the recorded events")
            span = InboundEvent.objects.aggregate(first=Min("received_at"), last=Max("finished_at"))
            applied_seconds = (span["last"] - span["first"]).total_seconds()
            healed = InboundEvent.objects.filter(status="succeeded").count()
            print(
                f"applied    {record.events_recorded} events by one worker "
                f"({args.concurrency} processes): "
                f"{record.events_recorded / max(applied_seconds, 1e-9):,.0f} events/s, first "
                f"recorded → last applied {applied_seconds:.1f} s; {healed} healed; "
                f"{Member.objects.count()} members"
            )

        # --- a delta pass with nothing changed ------------------------------------------
        before = dict(fake.stats)
        quiet = reconcile_pass_run(source=source)
        api = fake.stats["api"] - before["api"]
        print(
            f"no change  delta pass: {api} Web API requests for {len(quiet.tables)} tables, "
            f"{quiet.rows_read} rows, {quiet.duration.total_seconds():.2f} s "
            f"(goal one per table: {'met' if api == len(quiet.tables) else 'NOT met'})"
        )

        # --- a delta pass after 1 % changed -----------------------------------------------
        for contact_id in ids[:: max(1, 100)]:
            fake.upsert("contacts", {"contactid": contact_id, "lastname": "Endret"})
        before = dict(fake.stats)
        changed = reconcile_pass_run(source=source)
        api = fake.stats["api"] - before["api"]
        print(
            f"1 % change delta pass: {changed.rows_read} rows, {api} Web API requests, "
            f"{changed.events_recorded} events recorded, {changed.duration.total_seconds():.2f} s"
        )
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        if fake is not None:
            fake.stop()
        from django.db import connections

        connections.close_all()
        common.recreate_database(admin_db, bench_name, drop_only=True)


if __name__ == "__main__":
    main()
