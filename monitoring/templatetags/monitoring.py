"""Template tags that put the integration's state where people already look."""

from django import template

from monitoring.selectors import integration_state, organization_warning
from organizations.permissions import administered_organization_ids, user_is_global_admin

register = template.Library()


@register.inclusion_tag("monitoring/_index_banner.html", takes_context=True)
def integration_banner(context):
    """Admin index: the whole state for global admins, a scoped warning for org admins."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user_is_global_admin(user):
        return {"state": integration_state(), "is_global": True}
    organization_ids = administered_organization_ids(user)
    if not organization_ids:
        return {}
    return {"warning": organization_warning(organization_ids=organization_ids)}


@register.inclusion_tag("monitoring/_organization_warning.html")
def organization_sync_warning(organization):
    """An organisation's sync status panel: what concerns this organisation only."""
    return {"warning": organization_warning(organization_ids=[organization.pk])}
