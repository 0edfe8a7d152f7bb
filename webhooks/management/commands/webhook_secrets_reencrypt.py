"""Re-encrypt every webhook secret with the first key of FIELD_ENCRYPTION_KEYS (key rotation)."""

from django.core.management.base import BaseCommand, CommandError

from webhooks.crypto import SecretDecryptionError
from webhooks.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "After putting a new Fernet key first in FIELD_ENCRYPTION_KEYS, re-encrypt all webhook "
        "secrets with it; then the old key can be removed."
    )

    def handle(self, *args, **options):
        try:
            count = webhook_secrets_reencrypt()
        except SecretDecryptionError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} webhook secret(s)."))
