"""Run retention now (the daily beat task does the same) and print what it did."""

from django.core.management.base import BaseCommand

from monitoring.services import retention_run


class Command(BaseCommand):
    help = "Strip old finished events' payloads and delete old webhook rejections, in batches."

    def handle(self, *args, **options):
        self.stdout.write(str(retention_run()))
