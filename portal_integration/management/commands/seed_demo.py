"""Seed a demo: two onboarded organisations, their admins, members and enrollments (idempotent).

Both organisations are also on one shared source (SPEC §4.4), routed by their parent
accounts, with a Dataverse connection to the fake Dataverse on loopback (docs/dataverse.md).
"""

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from dataverse.models import DataverseConnection
from dataverse.services import dataverse_connection_set
from organizations.models import CourseEnrollment, Member, Organization
from organizations.services import organization_administrator_assign
from portal_integration.services import (
    FeatureSetting,
    organization_integration_setup,
    organization_onboard,
)
from webhooks.models import SourceOrganization, WebhookSource
from webhooks.selectors import webhook_source_for_organization
from webhooks.services import webhook_source_join

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
# One Dynamics environment for both (SPEC §4.4): a contact goes to the organisation whose
# local-chapter account is its parentcustomerid. Fixed values, so the docs' commands work.
DEMO_SHARED_SOURCE = "hlf-dynamics"
DEMO_SHARED_SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLWhsZi1keW5hbWljcy0zMmI="
DEMO_ROUTING_VALUES = {
    "hlf-oslo": "a1000000-0000-4000-8000-000000000001",
    "hlf-bergen": "a1000000-0000-4000-8000-000000000002",
}
# The fake Dataverse's defaults (`python -m dataverse.fake_server`), on loopback only.
DEMO_DATAVERSE: dict[str, Any] = {
    "environment_url": "http://127.0.0.1:8899",
    "authority_url": "http://127.0.0.1:8899",
    "tenant_id": "fake-tenant",
    "client_id": "fake-client",
    "client_secret": "fake-secret-value",
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


def _shared_source(organizations: dict[str, Organization]) -> bool:
    """Put the demo organisations on the shared source and connect it; True if it is new."""
    created = not WebhookSource.objects.filter(identifier=DEMO_SHARED_SOURCE).exists()
    source = None
    for slug, value in DEMO_ROUTING_VALUES.items():
        organization = organizations[slug]
        source = WebhookSource.objects.filter(identifier=DEMO_SHARED_SOURCE).first()
        if (
            source
            and SourceOrganization.objects.filter(source=source, organization=organization).exists()
        ):
            continue  # joined by an earlier run: keep what admins changed
        source, _secret = webhook_source_join(
            organization=organization,
            identifier=DEMO_SHARED_SOURCE,
            routing_value=value,
            secret=None if source else DEMO_SHARED_SECRET,
        )
    assert source is not None  # noqa: S101 - DEMO_ROUTING_VALUES is not empty
    if not DataverseConnection.objects.filter(source=source).exists():
        dataverse_connection_set(source=source, **DEMO_DATAVERSE)
    return created


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

        shared_created = _shared_source(organizations)

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
        self.stdout.write(
            f"  Shared source {DEMO_SHARED_SOURCE} secret:  {DEMO_SHARED_SECRET}"
            + ("  (new)" if shared_created else "")
        )
        for slug, value in DEMO_ROUTING_VALUES.items():
            self.stdout.write(f"    {slug} routing value (parent account):  {value}")
        self.stdout.write(
            f"    Dataverse connection: {DEMO_DATAVERSE['environment_url']} (the fake Dataverse; "
            "start it as docs/dataverse.md says)"
        )
        for slug, secret in generated_secrets.items():
            self.stdout.write(f"  Webhook source {slug} secret:  {secret}  (new, shown once)")
