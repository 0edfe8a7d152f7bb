"""Install or refresh the sync's periodic tasks (the migration installs them on first deploy)."""

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from sync.periodic import periodic_tasks_install


class Command(BaseCommand):
    help = "Create the sync's beat entries if missing and reset their intervals from settings."

    def handle(self, *args, **options):
        created = periodic_tasks_install(
            interval_model=IntervalSchedule, task_model=PeriodicTask, update_intervals=True
        )
        self.stdout.write(f"periodic tasks: {created} created, intervals refreshed from settings")
