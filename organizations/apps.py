"""App config: keeps the `Global administrators` group in step with the permissions."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_global_admin_group(sender, **kwargs) -> None:
    from organizations.services import global_admin_group_ensure

    global_admin_group_ensure(using=kwargs.get("using", "default"))


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        # Runs after every app's migrations so new permissions reach the group too.
        post_migrate.connect(_ensure_global_admin_group, dispatch_uid="global_admin_group")
