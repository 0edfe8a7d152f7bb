"""Seed a demo: two organisations, their admins, members and enrollments (idempotent)."""

from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from organizations.models import CourseEnrollment, Member, Organization
from organizations.services import organization_administrator_assign

DEMO_ORGANIZATIONS = [
    {
        "slug": "hlf-oslo",
        "name": "HLF Oslo",
        "portal_base_url": "https://minside.hlf.no/oslo",
        "allowed_portal_hosts": "minside.hlf.no",
    },
    {
        "slug": "hlf-bergen",
        "name": "HLF Bergen",
        "portal_base_url": "https://minside.hlf.no/bergen",
        "allowed_portal_hosts": "minside.hlf.no",
    },
]
DEMO_MEMBERS = {
    "hlf-oslo": [
        ("5b0b7c59-0000-4000-8000-000000000001", "Kari", "Nordmann", "peer_mentor"),
        ("5b0b7c59-0000-4000-8000-000000000002", "Ola", "Hansen", "coordinator"),
        ("5b0b7c59-0000-4000-8000-000000000003", "Ingrid", "Berg", "member"),
    ],
    "hlf-bergen": [
        # Same contact id as in Oslo on purpose: ids are unique per organisation only.
        ("5b0b7c59-0000-4000-8000-000000000001", "Per", "Solberg", "coordinator"),
        ("5b0b7c59-0000-4000-8000-000000000004", "Sigrid", "Lie", "member"),
    ],
}
GLOBAL_ADMIN = ("admin", "admin")
ORGANIZATION_ADMIN = ("orgadmin", "orgadmin", "hlf-oslo")
MEMBER_LOGIN = ("kari", "kari", "hlf-oslo", "5b0b7c59-0000-4000-8000-000000000001")


def _user(username: str, password: str, **flags):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=flags)
    for name, value in flags.items():
        setattr(user, name, value)
    user.set_password(password)
    user.save()
    return user


class Command(BaseCommand):
    help = "Create demo organisations, admins, members and enrollments; safe to re-run."

    @transaction.atomic
    def handle(self, *args, **options):
        organizations = {}
        for spec in DEMO_ORGANIZATIONS:
            organizations[spec["slug"]], _ = Organization.objects.update_or_create(
                slug=spec["slug"], defaults=spec
            )
        for slug, rows in DEMO_MEMBERS.items():
            for portal_id, first, last, role in rows:
                member, _ = Member.objects.get_or_create(
                    organization=organizations[slug],
                    portal_member_id=portal_id,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "role": role,
                        "email": f"{first.lower()}@example.no",
                        "joined_on": date(2024, 1, 15),
                    },
                )
                CourseEnrollment.objects.get_or_create(
                    organization=member.organization,
                    portal_enrollment_id=f"{portal_id[-4:]}-likeperson-basic-{slug}",
                    defaults={
                        "member": member,
                        "course_id": "likeperson-basic",
                        "course_name": "Likepersonkurs, grunnkurs",
                        "status": CourseEnrollment.Status.ENROLLED,
                        "starts_on": date(2027, 2, 1),
                    },
                )

        _user(GLOBAL_ADMIN[0], GLOBAL_ADMIN[1], is_staff=True, is_superuser=True)
        org_admin = _user(ORGANIZATION_ADMIN[0], ORGANIZATION_ADMIN[1], is_staff=True)
        organization_administrator_assign(
            user=org_admin, organization=organizations[ORGANIZATION_ADMIN[2]]
        )
        member_user = _user(MEMBER_LOGIN[0], MEMBER_LOGIN[1])
        Member.objects.filter(
            organization=organizations[MEMBER_LOGIN[2]], portal_member_id=MEMBER_LOGIN[3]
        ).update(user=member_user)
        token, _ = Token.objects.get_or_create(user=member_user)

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Global admin:        {GLOBAL_ADMIN[0]} / {GLOBAL_ADMIN[1]}")
        self.stdout.write(
            f"  Organisation admin:  {ORGANIZATION_ADMIN[0]} / {ORGANIZATION_ADMIN[1]}"
            f"  ({ORGANIZATION_ADMIN[2]})"
        )
        self.stdout.write(
            f"  App member:          {MEMBER_LOGIN[0]} / {MEMBER_LOGIN[1]}  API token {token.key}"
        )
