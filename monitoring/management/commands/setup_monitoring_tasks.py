"""Install or refresh monitoring's periodic tasks (the migration installs them on deploy)."""

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from monitoring.periodic import monitoring_tasks_install


class Command(BaseCommand):
    help = "Create monitoring's beat entries if missing and reset their intervals from settings."

    def handle(self, *args, **options):
        created = monitoring_tasks_install(
            interval_model=IntervalSchedule, task_model=PeriodicTask, update_intervals=True
        )
        self.stdout.write(f"monitoring tasks: {created} created, intervals refreshed")
