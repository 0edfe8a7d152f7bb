from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataverseConfig(AppConfig):
    name = "dataverse"
    verbose_name = _("Dataverse reconciliation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dataverse.routing import inbound_event_reroute
        from sync.routing import inbound_event_router_register

        inbound_event_router_register(payload_format="dataverse_row", router=inbound_event_reroute)
