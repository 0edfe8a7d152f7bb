"""App config for the portal integration configuration."""

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _reconcile_after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    # Every `migrate` (release, restart, test database) re-checks the catalog in code.
    from portal_integration.services import feature_catalog_reconcile

    # A partial `migrate <other app>` can run before this app's tables exist.
    tables = connections[using].introspection.table_names()
    if using == DEFAULT_DB_ALIAS and "portal_integration_historicaldeeplink" in tables:
        feature_catalog_reconcile()


def _configure_new_organization(sender, instance, created, raw=False, **kwargs) -> None:
    # However an organisation is created (onboarding, admin, fixtures), it starts from
    # the platform template instead of having no configuration at all.
    from portal_integration.services import portal_configuration_ensure

    if created and not raw:
        portal_configuration_ensure(organization=instance)


class PortalIntegrationConfig(AppConfig):
    name = "portal_integration"
    verbose_name = _("Portal integration")

    def ready(self) -> None:
        post_migrate.connect(
            _reconcile_after_migrate, sender=self, dispatch_uid="portal_feature_catalog_reconcile"
        )
        post_save.connect(
            _configure_new_organization,
            sender="organizations.Organization",
            dispatch_uid="portal_configure_new_organization",
        )
