from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataverseConfig(AppConfig):
    name = "dataverse"
    verbose_name = _("Dataverse reconciliation")
    default_auto_field = "django.db.models.BigAutoField"
