"""App config for the portal integration configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalIntegrationConfig(AppConfig):
    name = "portal_integration"
    verbose_name = _("Portal integration")
