"""Liveness and readiness probes for load balancers and process supervisors."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ready() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


def _broker_ready() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
def readyz(request):
    failures = {
        part: error
        for part, error in (("database", _database_ready()), ("broker", _broker_ready()))
        if error
    }
    if failures:
        # Host names and driver messages stay in the log: the probe is public.
        for part, error in failures.items():
            logger.warning("not ready: %s: %s", part, error)
        return JsonResponse({"status": "unavailable", "failing": sorted(failures)}, status=503)
    return JsonResponse({"status": "ready"})
