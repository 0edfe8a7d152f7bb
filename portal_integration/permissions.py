"""Who may read an organisation through the app API (SPEC §1, §7).

One decision for every organisation endpoint: an organisation the user may not know
of answers exactly like a missing one (404); one they belong to without the right
role answers 403.
"""

from enum import Enum

from organizations.models import Member, Organization
from organizations.permissions import user_can_administer_organization
from organizations.selectors import member_get_for_user

READER_ROLES = frozenset({Member.Role.COORDINATOR, Member.Role.ORG_ADMIN})


class Access(Enum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"  # knows the organisation, may not read it: 403
    HIDDEN = "hidden"  # missing, or not theirs to know of: 404


def organization_read_access(*, user, organization: Organization | None) -> Access:
    if organization is None:
        return Access.HIDDEN
    if user_can_administer_organization(user, organization.id):
        return Access.ALLOWED
    member = member_get_for_user(user=user)
    if member is None or member.organization_id != organization.id:
        return Access.HIDDEN
    if member.is_active and member.role in READER_ROLES:
        return Access.ALLOWED
    return Access.FORBIDDEN
