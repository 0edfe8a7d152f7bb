"""Encryption at rest for webhook secrets: MultiFernet keyed by settings.FIELD_ENCRYPTION_KEYS."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."""


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed by the key tuple, so a changed setting (tests, rotation) never reuses a stale one.
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key."
        ) from exc


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


@sensitive_variables()
def secret_encrypt(plaintext: str) -> str:
    """Encrypt with the first key."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


@sensitive_variables()
def secret_decrypt(ciphertext: str) -> str:
    """Decrypt with whichever key in FIELD_ENCRYPTION_KEYS encrypted it."""
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretDecryptionError(
            "A webhook secret cannot be decrypted: its key is missing from FIELD_ENCRYPTION_KEYS."
        ) from exc


def ciphertext_reencrypt(ciphertext: str) -> str:
    """Re-encrypt with the first key (after a new key was put first)."""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise SecretDecryptionError(
            "A webhook secret cannot be decrypted: its key is missing from FIELD_ENCRYPTION_KEYS."
        ) from exc
