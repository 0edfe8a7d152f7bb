"""App config for the sync inbox."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Sync")

    def ready(self) -> None:
        from sync import (
            messages,  # noqa: F401 - registers the message catalogue
            signals,  # noqa: F401 - connects the Celery signal handlers
        )
