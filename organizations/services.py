"""Write-side operations on organisations and their administrators."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from organizations.models import Organization, OrganizationAdministrator
from organizations.permissions import GLOBAL_ADMIN_GROUP


def global_admin_group_ensure(*, using: str = "default") -> Group:
    """Create the global-admin group and give it every permission (idempotent)."""
    group, _ = Group.objects.using(using).get_or_create(name=GLOBAL_ADMIN_GROUP)
    group.permissions.set(Permission.objects.using(using).all())
    return group


@transaction.atomic
def organization_create(
    *,
    slug: str,
    name: str,
    portal_base_url: str = "",
    allowed_portal_hosts: list[str] | None = None,
    parent: Organization | None = None,
) -> Organization:
    organization = Organization(
        slug=slug,
        name=name,
        parent=parent,
        portal_base_url=portal_base_url,
        allowed_portal_hosts="\n".join(allowed_portal_hosts or []),
    )
    organization.full_clean()
    organization.save()
    return organization


def organization_administrator_assign(*, user, organization: Organization) -> None:
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    OrganizationAdministrator.objects.get_or_create(user=user, organization=organization)
