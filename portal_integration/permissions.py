"""Who may read an organisation through the app API (SPEC §1, §7).

One access function for every API view (`organization_checked`, used by the API base
view in api_scoping.py, including the portal-config admin preview): an organisation the
user may not know of answers exactly like a missing one (404); one they belong to
without the right role answers 403.
"""

from enum import Enum

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, PermissionDenied

from organizations.models import Member, Organization
from organizations.permissions import user_can_administer_organization
from organizations.selectors import member_get_for_user, organization_get_by_slug

# request.user as DRF hands it over: IsAuthenticated runs first, the type allows both.
AnyUser = AbstractBaseUser | AnonymousUser

READER_ROLES = frozenset({Member.Role.COORDINATOR, Member.Role.ORG_ADMIN})
NOT_FOUND = _("No such organisation.")


class Access(Enum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"  # knows the organisation, may not read it: 403
    HIDDEN = "hidden"  # missing, or not theirs to know of: 404


class Need(Enum):
    READ = "read"  # coordinators and administrators of the organisation, global admins
    ADMINISTER = "administer"  # administrators of the organisation and global admins only


def organization_read_access(
    *, user: AnyUser, organization: Organization | None, need: Need = Need.READ
) -> Access:
    if organization is None:
        return Access.HIDDEN
    if user_can_administer_organization(user, organization.id):
        return Access.ALLOWED
    if need is Need.ADMINISTER:
        # Not theirs to administer: as if it did not exist, for members too.
        return Access.HIDDEN
    member = member_get_for_user(user=user)
    if member is None or member.organization_id != organization.id:
        return Access.HIDDEN
    if member.is_active and member.role in READER_ROLES:
        return Access.ALLOWED
    return Access.FORBIDDEN


def organization_checked(*, user: AnyUser, slug: str, need: Need = Need.READ) -> Organization:
    """The organisation `slug` names, if this user may use it for `need` (else 404/403)."""
    organization = organization_get_by_slug(slug=slug)
    access = organization_read_access(user=user, organization=organization, need=need)
    if access is Access.HIDDEN or organization is None:
        raise NotFound(NOT_FOUND)
    if access is Access.FORBIDDEN:
        raise PermissionDenied(
            _("Only coordinators and administrators of this organisation may read this.")
        )
    return organization
