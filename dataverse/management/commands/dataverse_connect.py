"""Connect a webhook source to its Dataverse environment for reconciliation (SPEC §5.1)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dataverse.services import dataverse_connection_set
from webhooks.selectors import webhook_source_get_by_identifier


class Command(BaseCommand):
    help = (
        "Set the Dataverse Web API connection of a source: environment URL, Entra ID tenant, "
        "client id and client secret (stored encrypted, never printed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="The webhook source identifier.")
        parser.add_argument("--url", required=True, help="e.g. https://hlf.crm4.dynamics.com")
        parser.add_argument("--tenant", required=True, help="Entra ID tenant id.")
        parser.add_argument("--client-id", required=True)
        parser.add_argument(
            "--client-secret",
            help="Omit to keep the stored secret of an existing connection.",
        )
        parser.add_argument("--authority", help="Default: https://login.microsoftonline.com")
        parser.add_argument("--contact-entity-set", help="Default: contacts")
        parser.add_argument(
            "--enrollment-entity-set", help="Default: the mapping's enrollment entity + s"
        )

    def handle(self, *args, **options):
        source = webhook_source_get_by_identifier(identifier=options["source"])
        if source is None:
            raise CommandError(f"No webhook source with the identifier {options['source']!r}.")
        try:
            connection = dataverse_connection_set(
                source=source,
                environment_url=options["url"],
                tenant_id=options["tenant"],
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                authority_url=options["authority"],
                contact_entity_set=options["contact_entity_set"],
                enrollment_entity_set=options["enrollment_entity_set"],
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Connected {source.identifier} to Dataverse."))
        self.stdout.write(f"  Environment:   {connection.environment_url}")
        self.stdout.write(f"  Authority:     {connection.authority_url}/{connection.tenant_id}")
        self.stdout.write(f"  Client id:     {connection.client_id}")
        self.stdout.write(f"  Client secret: {connection.client_secret_masked or '(stored)'}")
        self.stdout.write(
            f"  Tables:        {connection.entity_set(kind='contact')}, "
            f"{connection.entity_set(kind='enrollment')}"
        )
        self.stdout.write(
            f"  Run a pass:    python manage.py dataverse_reconcile --source {source}"
        )


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(ValidationError(errors).messages)}"
            for name, errors in error.error_dict.items()
        )
    return " ".join(error.messages)
