"""Install the sweeper and heartbeat in django-celery-beat (idempotent; admins may toggle)."""

from django.db import migrations
from django.utils import timezone


def install(apps, schema_editor):
    from sync.periodic import periodic_tasks_install

    periodic_tasks_install(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )
    # A running beat notices new entries by this timestamp (the model signal does not
    # fire for historical models).
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0003_event_subject_and_reprocessing"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
