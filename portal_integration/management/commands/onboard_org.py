"""Onboard an organisation's whole integration in one step (SPEC §8), for automation."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from organizations.selectors import organization_get_by_slug
from portal_integration.services import organization_onboard
from webhooks.signing import secret_mask


class Command(BaseCommand):
    help = (
        "Create an organisation with its feature ownership and deep links from the platform "
        "template, and its webhook source and secret. Prints a generated secret once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--source-id", required=True, help="The webhook source identifier.")
        parser.add_argument("--secret", help="whsec_… secret to use; default: generate one.")
        parser.add_argument(
            "--routing-value",
            help="Join the shared source --source-id (one Dynamics environment for many "
            "organisations) with this Dataverse account id; its secret stays as it is.",
        )
        parser.add_argument("--portal-base-url", help="Default: the platform template's.")
        parser.add_argument(
            "--allowed-host",
            action="append",
            dest="allowed_hosts",
            help="A host deep links may point to; repeat for more. Default: the template's.",
        )
        parser.add_argument("--parent", help="Slug of the parent organisation.")
        parser.add_argument("--tolerance", type=int, help="Timestamp tolerance in seconds.")

    def handle(self, *args, **options):
        parent = None
        if options["parent"]:
            parent = organization_get_by_slug(slug=options["parent"])
            if parent is None:
                raise CommandError(f"No organisation with the slug {options['parent']!r}.")
        try:
            result = organization_onboard(
                slug=options["slug"],
                name=options["name"],
                source_identifier=options["source_id"],
                secret=options["secret"],
                portal_base_url=options["portal_base_url"],
                allowed_hosts=options["allowed_hosts"],
                parent=parent,
                tolerance_seconds=options["tolerance"],
                routing_value=options["routing_value"],
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from error

        organization = result.organization
        self.stdout.write(
            self.style.SUCCESS(f"Onboarded {organization.name} ({organization.slug}).")
        )
        self.stdout.write(f"  Webhook source:   {result.source.identifier}")
        self.stdout.write(f"  Webhook endpoint: {reverse('webhook-dynamics')} (on this host)")
        if options["routing_value"]:
            self.stdout.write(f"  Routing value:    {options['routing_value'].strip().lower()}")
        if result.secret is None:
            self.stdout.write("  Webhook secret:   the shared source's, unchanged (not shown)")
        elif result.secret_generated:
            self.stdout.write("  Webhook secret (shown once, store it now):")
            self.stdout.write(f"    {result.secret}")
        else:
            self.stdout.write(f"  Webhook secret:   {secret_mask(result.secret)} (as given)")


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(ValidationError(errors).messages)}"
            for name, errors in error.error_dict.items()
        )
    return " ".join(error.messages)
