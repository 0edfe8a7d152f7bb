"""Seed a demo: two onboarded organisations, their admins, members and enrollments (idempotent)."""

from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from organizations.models import CourseEnrollment, Member, Organization
from organizations.services import organization_administrator_assign
from portal_integration.services import (
    FeatureSetting,
    organization_integration_setup,
    organization_onboard,
)
from webhooks.selectors import webhook_source_for_organization

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
# A fixed, published secret so the webhook docs' examples work against the demo.
DEMO_SOURCE_SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLWhsZi1vc2xvLTMyYnl0ZXM="
DEMO_INTEGRATIONS: dict[str, dict] = {
    "hlf-oslo": {
        "source_identifier": "hlf-oslo",
        "secret": DEMO_SOURCE_SECRET,
        # One portal-owned feature, so the preview shows a hand-off card.
        "features": {
            "course_enrollment": FeatureSetting(
                owner="portal",
                url_template=(
                    "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}"
                    "&lang={locale}"
                ),
            )
        },
    },
    "hlf-bergen": {"source_identifier": "hlf-bergen", "secret": None, "features": {}},
}
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


def _onboarded(spec: dict, integration: dict) -> tuple[Organization, str | None]:
    """The demo organisation, onboarded through the real service; a new generated secret."""
    organization = Organization.objects.filter(slug=spec["slug"]).first()
    if organization is None:
        result = organization_onboard(
            slug=spec["slug"],
            name=spec["name"],
            portal_base_url=spec["portal_base_url"],
            allowed_hosts=spec["allowed_portal_hosts"].splitlines(),
            **integration,
        )
    else:
        for name, value in spec.items():
            setattr(organization, name, value)
        organization.save()
        if webhook_source_for_organization(organization=organization) is not None:
            return organization, None  # onboarded by an earlier run: keep what admins changed
        result = organization_integration_setup(organization=organization, **integration)
    return result.organization, None if integration["secret"] else result.secret


class Command(BaseCommand):
    help = "Create demo organisations, admins, members and enrollments; safe to re-run."

    @transaction.atomic
    def handle(self, *args, **options):
        organizations = {}
        generated_secrets = {}
        for spec in DEMO_ORGANIZATIONS:
            organization, secret = _onboarded(spec, DEMO_INTEGRATIONS[spec["slug"]])
            organizations[spec["slug"]] = organization
            if secret:
                generated_secrets[spec["slug"]] = secret
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
        self.stdout.write(f"  Webhook source hlf-oslo secret:    {DEMO_SOURCE_SECRET}")
        for slug, secret in generated_secrets.items():
            self.stdout.write(f"  Webhook source {slug} secret:  {secret}  (new, shown once)")
