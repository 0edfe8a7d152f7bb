"""Who may see what (SPEC §1). Every access decision in the project goes through here."""

from django.db.models import QuerySet

GLOBAL_ADMIN_GROUP = "Global administrators"


def user_is_global_admin(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    # Cached per request object: admin pages ask this many times.
    cached = getattr(user, "_is_global_admin_cache", None)
    if cached is None:
        cached = user.groups.filter(name=GLOBAL_ADMIN_GROUP).exists()
        user._is_global_admin_cache = cached
    return cached


def user_holds_admin_rights(user) -> bool:
    """Staff, superuser or global-admin group member, active or not (events never touch them)."""
    return bool(
        user.is_staff or user.is_superuser or user.groups.filter(name=GLOBAL_ADMIN_GROUP).exists()
    )


def administered_organization_ids(user) -> frozenset[int]:
    """Ids of the organisations a staff user administers (empty for everybody else)."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return frozenset()
    cached = getattr(user, "_administered_org_ids_cache", None)
    if cached is None:
        cached = frozenset(
            user.administered_organizations.values_list("organization_id", flat=True)
        )
        user._administered_org_ids_cache = cached
    return cached


def user_can_administer_organization(user, organization_id: int) -> bool:
    return user_is_global_admin(user) or organization_id in administered_organization_ids(user)


def scope_to_user_organizations(queryset: QuerySet, *, user, lookup: str) -> QuerySet:
    """Narrow `queryset` to rows whose organisation (reached via `lookup`) the user administers.

    `lookup` is the ORM path from the model to Organization ("" for Organization itself,
    "organization", "member__organization", ...).
    """
    if user_is_global_admin(user):
        return queryset
    field = f"{lookup}__in" if lookup else "pk__in"
    return queryset.filter(**{field: administered_organization_ids(user)})
