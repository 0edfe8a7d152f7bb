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
