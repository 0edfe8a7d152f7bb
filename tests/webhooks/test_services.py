"""Sources and secrets: creation, rotation, encryption at rest and key rotation."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.webhooks.factories import TEST_SECRET, WebhookSourceFactory
from webhooks import signing
from webhooks.crypto import SecretDecryptionError, secret_decrypt
from webhooks.models import WebhookSecret, WebhookSource
from webhooks.selectors import webhook_source_active_secrets, webhook_source_for_organization
from webhooks.services import (
    webhook_secret_generate,
    webhook_secret_rotate,
    webhook_source_create,
    webhook_source_set_active,
)

pytestmark = pytest.mark.django_db


def test_create_returns_a_generated_whsec_secret_once(org_a):
    source, secret = webhook_source_create(organization=org_a, identifier="hlf-alpha")

    assert len(signing.secret_key_bytes(secret)) == 32
    assert webhook_source_active_secrets(source=source) == [secret]
    stored = WebhookSecret.objects.get(source=source)
    assert stored.masked == signing.secret_mask(secret)
    assert source.tolerance_seconds == 300
    assert webhook_source_for_organization(organization=org_a) == source


def test_create_keeps_a_given_secret(org_a):
    source, secret = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", secret=TEST_SECRET, tolerance_seconds=120
    )
    assert secret == TEST_SECRET
    assert webhook_source_active_secrets(source=source) == [TEST_SECRET]
    assert source.tolerance_seconds == 120


@override_settings(WEBHOOK_DEFAULT_TOLERANCE_SECONDS=90)
def test_default_tolerance_comes_from_settings(org_a):
    source, _ = webhook_source_create(organization=org_a, identifier="hlf-alpha")
    assert source.tolerance_seconds == 90


def test_duplicate_identifier_is_refused_with_a_clear_message(org_a, org_b):
    webhook_source_create(organization=org_a, identifier="hlf-alpha")
    with pytest.raises(ValidationError) as excinfo:
        webhook_source_create(organization=org_b, identifier="hlf-alpha")
    assert "hlf-alpha" in excinfo.value.message_dict["identifier"][0]
    assert "already exists" in excinfo.value.message_dict["identifier"][0]
    assert WebhookSource.objects.count() == 1


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("not-a-secret", id="no-prefix"),
        pytest.param("whsec_", id="empty-key"),
        pytest.param("whsec_***", id="not-base64"),
        pytest.param("whsec_" + base64.b64encode(b"short").decode(), id="too-short"),
    ],
)
def test_malformed_secret_is_refused(org_a, secret):
    with pytest.raises(ValidationError) as excinfo:
        webhook_source_create(organization=org_a, identifier="hlf-alpha", secret=secret)
    assert "secret" in excinfo.value.message_dict
    assert WebhookSource.objects.count() == 0


@pytest.mark.parametrize("identifier", ["", "has space", "-leading-dash", "x" * 201])
def test_invalid_identifier_is_refused(org_a, identifier):
    with pytest.raises(ValidationError):
        webhook_source_create(organization=org_a, identifier=identifier)


def test_invalid_mapping_override_is_refused(org_a):
    with pytest.raises(ValidationError) as excinfo:
        webhook_source_create(
            organization=org_a, identifier="hlf-alpha", dataverse_mapping={"role_attr": "x"}
        )
    assert "role_attr" in str(excinfo.value)


def test_mapping_overrides_reach_the_normaliser(org_a):
    source, _ = webhook_source_create(
        organization=org_a, identifier="hlf-alpha", dataverse_mapping={"role_attribute": "x_role"}
    )
    assert source.mapping.role_attribute == "x_role"
    assert source.mapping.contact_entity == "contact"


def test_generate_gives_a_first_secret_and_refuses_a_second(org_a):
    source = WebhookSourceFactory(organization=org_a)
    secret = webhook_secret_generate(source=source)
    assert webhook_source_active_secrets(source=source) == [secret]
    with pytest.raises(ValidationError):
        webhook_secret_generate(source=source)


def test_rotate_keeps_the_old_secret_for_the_overlap(source_a):
    before = timezone.now()
    new = webhook_secret_rotate(source=source_a)

    assert webhook_source_active_secrets(source=source_a) == [new, TEST_SECRET]
    old = WebhookSecret.objects.filter(source=source_a).order_by("created_at").first()
    overlap = old.expires_at - before
    assert timedelta(hours=23, minutes=59) < overlap <= timedelta(hours=24, seconds=5)
    later = old.expires_at + timedelta(seconds=1)
    assert webhook_source_active_secrets(source=source_a, now=later) == [new]


def test_rotating_twice_never_extends_an_expiring_secret(source_a):
    webhook_secret_rotate(source=source_a, overlap=timedelta(hours=1))
    first_expiry = WebhookSecret.objects.filter(source=source_a).order_by("created_at")[0]
    webhook_secret_rotate(source=source_a, overlap=timedelta(hours=5))
    first_expiry_after = WebhookSecret.objects.get(pk=first_expiry.pk).expires_at
    assert first_expiry_after == first_expiry.expires_at


def test_set_active(source_a):
    webhook_source_set_active(source=source_a, is_active=False)
    source_a.refresh_from_db()
    assert source_a.is_active is False


# --- encryption at rest ----------------------------------------------------------------


def _raw_ciphertexts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext, last4 FROM webhooks_webhooksecret")
        return [" ".join(row) for row in cursor.fetchall()]


def test_database_never_holds_the_plaintext(source_a):
    key_part = TEST_SECRET.removeprefix("whsec_")
    rows = _raw_ciphertexts()
    assert rows
    for row in rows:
        assert TEST_SECRET not in row
        assert key_part not in row
        assert key_part[:12] not in row


def test_key_rotation_reencrypts_with_the_new_first_key(source_a, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()

    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    before = _raw_ciphertexts()
    out = StringIO()
    call_command("webhook_secrets_reencrypt", stdout=out)
    assert "1" in out.getvalue()
    assert _raw_ciphertexts() != before

    # The old key can now go: the secret still decrypts with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert webhook_source_active_secrets(source=source_a) == [TEST_SECRET]


def test_secret_encrypted_with_a_removed_key_is_reported_not_guessed(source_a, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError):
        secret_decrypt(WebhookSecret.objects.get().ciphertext)
    assert webhook_source_active_secrets(source=source_a) == []
    with pytest.raises(CommandError):
        call_command("webhook_secrets_reencrypt", stdout=StringIO())
