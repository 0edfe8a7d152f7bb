"""App config for the webhook intake."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from sync.routing import inbound_event_router_register
        from webhooks import messages  # noqa: F401 - registers the message catalogue
        from webhooks.routing import inbound_event_reroute

        for payload_format in ("envelope", "dataverse"):
            inbound_event_router_register(
                payload_format=payload_format, router=inbound_event_reroute
            )
