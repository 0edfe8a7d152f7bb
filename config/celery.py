"""The Celery app: settings come from Django settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import import_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("minside_bridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Heartbeat thread and metrics files of each worker (monitoring/worker.py).
app.steps["worker"].add("monitoring.worker:HealthStep")


def broker_folders_create() -> None:
    """The embedded filesystem broker's folders, created by whoever uses the broker."""
    from pathlib import Path

    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@import_modules.connect(weak=False)
def _worker_or_beat_starting(**kwargs) -> None:
    broker_folders_create()
