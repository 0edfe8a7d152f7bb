"""The Celery app: settings come from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("minside_bridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Heartbeat thread and metrics files of each worker (monitoring/worker.py).
app.steps["worker"].add("monitoring.worker:HealthStep")
