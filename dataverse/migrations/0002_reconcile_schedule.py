"""Install the reconciliation schedule in django-celery-beat (idempotent; admins may toggle)."""

from django.db import migrations
from django.utils import timezone


def install(apps, schema_editor):
    from dataverse.periodic import reconcile_schedule_install

    reconcile_schedule_install(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dataverse", "0001_connections_and_passes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
