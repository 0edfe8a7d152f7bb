"""Process-wide start-up that must not happen when the settings are merely imported."""

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class ConfigAppConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "minside-bridge"

    def ready(self) -> None:
        # Development only: the embedded SQLite database and the static root live under
        # DATA_DIR, which must exist before the first connection (WhiteNoise warns about
        # a missing static root). Production writes neither (PostgreSQL; collectstatic
        # creates its own folder).
        if settings.IS_PRODUCTION:
            return
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("sqlite3"):
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
