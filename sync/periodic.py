"""The periodic tasks of the sync, declared in code and installed into django-celery-beat."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# (stable name, task, setting holding the interval in seconds). The name is the key of
# the django-celery-beat row (English, never translated: a migration and beat find the
# row by it); the admin shows the label from PERIODIC_TASK_LABELS in the reader's language.
PERIODIC_TASKS = (
    (
        "Sync: re-enqueue pending and stuck events",
        "sync.inbound_events_sweep",
        "SYNC_SWEEP_INTERVAL_SECONDS",
    ),
    ("Sync: worker heartbeat", "sync.worker_heartbeat", "SYNC_HEARTBEAT_INTERVAL_SECONDS"),
)

# What the periodic-tasks admin shows for each stable name (other apps add theirs).
PERIODIC_TASK_LABELS = {
    "Sync: re-enqueue pending and stuck events": _(
        "Sync: wake the queue for waiting and stuck events"
    ),
    "Sync: worker heartbeat": _("Sync: worker heartbeat"),
}


def periodic_task_label(name: str) -> str:
    """The reader's label of a beat entry; a name this code does not know is shown as is."""
    label = PERIODIC_TASK_LABELS.get(name)
    return str(label) if label is not None else name


def periodic_tasks_install(
    *, interval_model, task_model, update_intervals: bool = False, tasks=PERIODIC_TASKS
) -> int:
    """Create the sync's beat entries if missing; return how many were created.

    Takes the models as arguments so a migration can pass its historical ones. An
    existing entry keeps its enabled flag (admins may pause it); its interval is reset
    from settings only when `update_intervals` is set.
    """
    created_count = 0
    for name, task, setting in tasks:
        seconds = getattr(settings, setting)
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        entry, created = task_model.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                # A beat tick missed while no worker listened is dropped, not piled up.
                "expire_seconds": seconds,
                "enabled": True,
            },
        )
        created_count += created
        if not created and update_intervals and entry.interval_id != interval.id:
            entry.interval = interval
            entry.expire_seconds = seconds
            entry.save()
    return created_count
