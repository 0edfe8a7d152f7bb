"""Read-side queries over organisations and members."""

from django.db.models import Prefetch, QuerySet

from organizations.models import CourseEnrollment, Member, Organization


def organization_get_by_slug(*, slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def member_list_for_organization(
    *, organization: Organization, active: bool | None = None
) -> QuerySet[Member]:
    members = Member.objects.filter(organization=organization).prefetch_related(
        Prefetch("enrollments", queryset=CourseEnrollment.objects.order_by("-starts_on", "id"))
    )
    if active is not None:
        members = members.filter(is_active=active)
    return members.order_by("last_name", "first_name", "id")


def member_get_for_organization(
    *, organization: Organization, portal_member_id: str
) -> Member | None:
    return (
        member_list_for_organization(organization=organization)
        .filter(portal_member_id=portal_member_id)
        .first()
    )


def member_get_for_user(*, user) -> Member | None:
    if not (user and user.is_authenticated):
        return None
    return Member.objects.select_related("organization").filter(user=user).first()


MEMBER_SEARCH_LIMIT = 200


def member_portal_ids_matching(*, user, term: str, limit: int = MEMBER_SEARCH_LIMIT) -> list[str]:
    """Min Side ids of the members, in the user's organisations only, that a search names.

    Every word must match a first name, last name or e-mail (like the admin's own
    search), so "kari nordmann" and "kari@example.no" both find Kari. Used to search the
    sync log, which knows members by id only.
    """
    from django.db.models import Q

    from organizations.permissions import scope_to_user_organizations

    words = term.split()
    if not words:
        return []
    members = scope_to_user_organizations(Member.objects.all(), user=user, lookup="organization")
    for word in words:
        members = members.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
    return list(members.order_by("id").values_list("portal_member_id", flat=True)[:limit])
