"""Install monitoring's roll-up and retention tasks in django-celery-beat (idempotent)."""

from django.db import migrations
from django.utils import timezone


def install(apps, schema_editor):
    from monitoring.periodic import monitoring_tasks_install

    monitoring_tasks_install(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
