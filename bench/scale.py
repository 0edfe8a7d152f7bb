"""Scale bench (issue 9): admin pages at 1,000,000 stored events and 100,000 rejections.

PostgreSQL only (DATABASE_URL), in its own database `<name>_bench_scale`, kept between
runs because filling it takes a minute (`--recreate` starts again). Fills it with SQL
(generate_series): events over 60 days for 10 organisations (≈ 2 % failed, some pending,
self-tests), rejections over 60 days, then rolls up the hours and ANALYZEs. Then renders,
through Django's test client, and reports median time (of --repeat, after one warm-up)
and query count of:

  health view              /admin/monitoring/alert/health/
  sync log                 default, first page
  sync log by organisation ?organization__id__exact=<id>
  sync log by org + status ?organization__id__exact=<id>&status__exact=failed | succeeded
  sync status panel        the portal config page of one organisation (org admin)
  index banner             /admin/ as a global admin

Goal: every page < 300 ms. `eval "$(bash .ci/services.sh env)"; .venv/bin/python bench/scale.py`
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_MS = 300


def _fail(message: str) -> None:
    print(f"bench/scale.py: {message}", file=sys.stderr)
    sys.exit(2)


def _urls() -> tuple[str, str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        _fail('needs DATABASE_URL=postgres://… (eval "$(bash .ci/services.sh env)")')
    parts = urlsplit(database_url)
    name = f"{parts.path.lstrip('/') or 'minside'}_bench_scale"
    return (
        urlunsplit(parts._replace(path=f"/{name}")),
        urlunsplit(parts._replace(path="/postgres")),
        name,
    )


def _ensure_database(admin_url: str, name: str, *, recreate: bool) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if recreate:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


FILL_EVENTS = """
INSERT INTO sync_inboundevent (
    id, organization_id, source_identifier, webhook_id, event_type, payload_format, payload,
    normalized, headers, received_at, occurred_at, started_at, finished_at, status, attempts,
    outcome_code, outcome_params, reprocessed_by, subject_ids, is_self_test, origin
)
SELECT
    md5('event' || n)::uuid,
    (%(org_ids)s::bigint[])[1 + n %% %(org_count)s],
    'bench-' || (1 + n %% %(org_count)s),
    'msg_' || n,
    (ARRAY['membership.created', 'membership.updated', 'role.updated'])[1 + n %% 3],
    'envelope',
    jsonb_build_object('type', 'membership.updated', 'data',
        jsonb_build_object('member_id', 'm-' || (n %% 50000), 'first_name', 'Navn' || n)),
    jsonb_build_array(jsonb_build_object('type', 'membership.updated', 'data',
        jsonb_build_object('member_id', 'm-' || (n %% 50000)))),
    '{"user-agent": "bench"}'::jsonb,
    received,
    received,
    received,
    CASE WHEN n / 10 %% 500 = 0 THEN NULL ELSE received + interval '0.3 seconds' END,
    CASE WHEN n / 10 %% 500 = 0 THEN 'pending' WHEN n / 10 %% 50 = 0 THEN 'failed'
         WHEN n / 10 %% 20 = 0 THEN 'skipped' ELSE 'succeeded' END,
    1,
    CASE WHEN n / 10 %% 50 = 0 THEN 'sync.member_unknown' ELSE 'sync.no_change' END,
    CASE WHEN n / 10 %% 50 = 0
         THEN jsonb_build_object('id', 'm-' || (n %% 50000), 'organization', 'bench')
         ELSE jsonb_build_object('subject', jsonb_build_object('code', 'sync.subject.member',
              'params', jsonb_build_object('id', 'm-' || (n %% 50000)))) END,
    '',
    'm-' || (n %% 50000),
    n %% 1000 = 7,
    'webhook'
FROM (
    SELECT n, now() - (n::float / %(events)s) * interval '60 days' AS received
    FROM generate_series(1, %(events)s) AS n
) AS series
"""

FILL_REJECTIONS = """
INSERT INTO webhooks_webhookrejection (
    reason, status_code, detail_code, detail_params, source_identifier, received_at,
    client_address, headers, body_size, body_sha256, is_self_test
)
SELECT
    (ARRAY['invalid_signature', 'unknown_source', 'malformed_payload'])[1 + n %% 3],
    401, '', '{}'::jsonb, 'nobody', now() - (n::float / %(rejections)s) * interval '60 days',
    '203.0.113.7', '{}'::jsonb, 100, '', false
FROM generate_series(1, %(rejections)s) AS n
"""


def _fill(*, events: int, rejections: int) -> None:
    from django.db import connection

    from organizations.models import Organization
    from sync.models import InboundEvent

    have = InboundEvent.objects.count()
    if have >= events:
        print(f"fixture: {have} events already there")
        return
    orgs = [
        Organization.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"HLF Bench {i}"})[
            0
        ]
        for i in range(1, 11)
    ]
    started = time.monotonic()
    InboundEvent.objects.all().delete()
    with connection.cursor() as cursor:
        params = {
            "org_ids": [org.pk for org in orgs],
            "org_count": len(orgs),
            "events": events,
            "rejections": rejections,
        }
        cursor.execute(FILL_EVENTS, params)
        cursor.execute("DELETE FROM webhooks_webhookrejection")
        cursor.execute(FILL_REJECTIONS, params)
        # What autovacuum does soon after a real load: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE sync_inboundevent")
        cursor.execute("VACUUM ANALYZE webhooks_webhookrejection")
    print(
        f"fixture: {events} events, {rejections} rejections in {time.monotonic() - started:.0f} s"
    )


def _measure(client, url: str, *, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up (and a check)
    if response.status_code != 200:
        _fail(f"{url} answered {response.status_code}")
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rejections", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--recreate", action="store_true", help="drop and fill again")
    args = parser.parse_args()

    bench_db, admin_db, name = _urls()
    env = {
        **os.environ,
        "DATABASE_URL": bench_db,
        "DATA_DIR": tempfile.mkdtemp(prefix="bench-scale-"),
        "LOG_LEVEL": "WARNING",
        "LANGUAGE_CODE": "en",
    }
    os.environ.update(env)
    _ensure_database(admin_db, name, recreate=args.recreate)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from monitoring.services import traffic_rollup
    from organizations.models import Organization, OrganizationAdministrator
    from portal_integration.services import portal_configuration_ensure

    setup_test_environment()
    _fill(events=args.events, rejections=args.rejections)
    print(f"roll-ups written: {traffic_rollup()}")
    User = get_user_model()
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    org = Organization.objects.get(slug="bench-1")
    org_admin, _ = User.objects.get_or_create(
        username="bench-org-admin", defaults={"is_staff": True}
    )
    OrganizationAdministrator.objects.get_or_create(user=org_admin, organization=org)
    configuration = portal_configuration_ensure(organization=org)
    as_admin, as_org_admin = Client(), Client()
    as_admin.force_login(admin)
    as_org_admin.force_login(org_admin)
    log = reverse("admin:sync_inboundevent_changelist")
    pages = [
        ("health view", as_admin, reverse("admin:monitoring_health")),
        ("index banner", as_admin, reverse("admin:index")),
        ("sync log", as_admin, log),
        ("sync log by organisation", as_admin, f"{log}?organization__id__exact={org.pk}"),
        (
            "sync log by org + failed",
            as_admin,
            f"{log}?organization__id__exact={org.pk}&status__exact=failed",
        ),
        (
            "sync log by org + succeeded",
            as_admin,
            f"{log}?organization__id__exact={org.pk}&status__exact=succeeded",
        ),
        ("sync log (org admin)", as_org_admin, log),
        (
            "sync status panel (org admin)",
            as_org_admin,
            reverse("admin:portal_integration_portalconfiguration_change", args=[configuration.pk]),
        ),
    ]
    print(f"\n{'page':34} {'median ms':>10} {'queries':>8}")
    slow = []
    for label, client, url in pages:
        median, queries = _measure(client, url, repeat=args.repeat)
        print(f"{label:34} {median:10.1f} {queries:8d}")
        if median >= GOAL_MS:
            slow.append(label)
    if slow:
        print(f"\nslower than {GOAL_MS} ms: {', '.join(slow)}")
        sys.exit(1)
    print(f"\nall pages < {GOAL_MS} ms")


if __name__ == "__main__":
    main()
