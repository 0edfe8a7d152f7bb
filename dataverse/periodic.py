"""The schedule of reconciliation, installed into django-celery-beat like the sync's."""

from django.conf import settings

NAME = "Dataverse: reconcile every connected source"
TASK = "dataverse.reconcile_due"


def reconcile_schedule_install(
    *, interval_model, task_model, update_interval: bool = False
) -> bool:
    """Create the beat entry if missing (an existing one keeps its enabled flag)."""
    minutes = settings.DATAVERSE_RECONCILE_MINUTES
    interval, _ = interval_model.objects.get_or_create(every=minutes, period="minutes")
    entry, created = task_model.objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": interval,
            "expire_seconds": minutes * 60,
            "enabled": True,
        },
    )
    if not created and update_interval and entry.interval_id != interval.id:
        entry.interval = interval
        entry.expire_seconds = minutes * 60
        entry.save()
    return created
