"""Webhook sources, their encrypted secrets and the log of refused deliveries."""

from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.messages import Message, as_message
from organizations.models import Organization
from webhooks.normalize import DataverseMapping
from webhooks.signing import SECRET_PREFIX

MASK_ELLIPSIS = "\u2026"
MAX_TOLERANCE_SECONDS = 24 * 3600

identifier_validator = RegexValidator(
    regex=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    message=_(
        "Use letters, digits, '.', '_', ':' or '-' (e.g. hlf-oslo or a Dataverse organisation id)."
    ),
)


def default_tolerance_seconds() -> int:
    return settings.WEBHOOK_DEFAULT_TOLERANCE_SECONDS


def validate_dataverse_mapping(value) -> None:
    try:
        DataverseMapping.from_overrides(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_mapping") from exc


class WebhookSource(models.Model):
    """A sender (SPEC §4.1): its identifier selects the organisation and the secrets."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="webhook_sources",
    )
    identifier = models.CharField(
        _("source identifier"),
        max_length=200,
        unique=True,
        validators=[identifier_validator],
        help_text=_(
            "The envelope's 'source', or the OrganizationId of a Dataverse RemoteExecutionContext."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    shared = models.BooleanField(
        _("shared by several organisations"),
        default=False,
        help_text=_(
            "One Dynamics environment for many organisations (SPEC §4.4): events are routed "
            "by each organisation's routing value; the organisation above is the one that "
            "onboarded the source."
        ),
    )
    tolerance_seconds = models.PositiveIntegerField(
        _("timestamp tolerance (seconds)"),
        default=default_tolerance_seconds,
        help_text=_("How far the webhook-timestamp may be from our clock, either way."),
    )
    dataverse_mapping = models.JSONField(
        _("Dataverse mapping overrides"),
        default=dict,
        blank=True,
        validators=[validate_dataverse_mapping],
        help_text=_(
            "Only what differs from HLF's default logical names, e.g. "
            '{"role_attribute": "hlf_role", "enrollment_entity": "hlf_enrollment"}.'
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook source")
        verbose_name_plural = _("webhook sources")
        ordering = ["identifier"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tolerance_seconds__gte=1)
                & Q(tolerance_seconds__lte=MAX_TOLERANCE_SECONDS),
                name="webhook_source_tolerance_range",
            ),
        ]

    def __str__(self) -> str:
        return self.identifier

    @cached_property
    def mapping(self) -> DataverseMapping:
        return DataverseMapping.from_overrides(self.dataverse_mapping)


def routing_value_normalize(value: str) -> str:
    """Routing values are Dataverse GUIDs: compared trimmed and lower-cased."""
    return (value or "").strip().lower()


class SourceOrganization(models.Model):
    """An organisation on a shared source and its routing value (SPEC §4.4)."""

    source = models.ForeignKey(
        WebhookSource, verbose_name=_("source"), on_delete=models.CASCADE, related_name="routes"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="shared_source_routes",
    )
    routing_value = models.CharField(
        _("routing value"),
        max_length=100,
        help_text=_("The Dataverse id of the organisation's local-chapter record (an account)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation on a shared source")
        verbose_name_plural = _("organisations on the shared source")
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "routing_value"], name="unique_routing_value_per_source"
            ),
            models.UniqueConstraint(
                fields=["source", "organization"], name="unique_organization_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ← {self.routing_value}"

    def save(self, *args, **kwargs):
        self.routing_value = routing_value_normalize(self.routing_value)
        super().save(*args, **kwargs)


class WebhookSecret(models.Model):
    """One `whsec_…` secret of a source, Fernet-encrypted; active until `expires_at`."""

    source = models.ForeignKey(
        WebhookSource,
        verbose_name=_("source"),
        on_delete=models.CASCADE,
        related_name="secrets",
    )
    ciphertext = models.TextField(_("encrypted secret"), editable=False)
    # Enough to recognise a secret on screen, too little to help guess it.
    last4 = models.CharField(_("last characters"), max_length=4, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_("Empty: valid until rotated."),
    )

    class Meta:
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["source", "expires_at"], name="webhook_secret_source_expiry"),
        ]

    def __str__(self) -> str:
        return self.masked

    # Whatever changes a secret moves its source's `updated_at`, the version every
    # process's intake cache is checked against (webhooks.selectors).
    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self._source_touch()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        self._source_touch()
        return deleted

    def _source_touch(self) -> None:
        WebhookSource.objects.filter(pk=self.source_id).update(updated_at=timezone.now())

    @property
    def masked(self) -> str:
        return f"{SECRET_PREFIX}{MASK_ELLIPSIS}{self.last4}"

    def is_active_at(self, moment) -> bool:
        return self.expires_at is None or self.expires_at > moment

    @property
    def is_active(self) -> bool:
        return self.is_active_at(timezone.now())


class WebhookRejection(models.Model):
    """A refused delivery (SPEC §4.3): why, from where, and a fingerprint of the body."""

    class Reason(models.TextChoices):
        UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", _("Not application/json")
        PAYLOAD_TOO_LARGE = "payload_too_large", _("Body too large")
        MALFORMED_PAYLOAD = "malformed_payload", _("Malformed payload")
        MISSING_SIGNATURE_HEADERS = (
            "missing_signature_headers",
            _("Signature headers missing or malformed"),
        )
        UNKNOWN_SOURCE = "unknown_source", _("Unknown source")
        SOURCE_DISABLED = "source_disabled", _("Source disabled")
        SECRET_NOT_CONFIGURED = "secret_not_configured", _("No secret configured")
        TIMESTAMP_OUT_OF_TOLERANCE = (
            "timestamp_out_of_tolerance",
            _("Timestamp outside tolerance"),
        )
        INVALID_SIGNATURE = "invalid_signature", _("Invalid signature")

    reason = models.CharField(_("reason"), max_length=40, choices=Reason.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    # What was wrong, as a message code and its parameters (webhooks/messages.py),
    # rendered in the reader's language; `detail` reads (and sets) it as one.
    detail_code = models.CharField(_("detail code"), max_length=60, blank=True)
    detail_params = models.JSONField(_("detail parameters"), default=dict, blank=True)
    # As claimed by the request; kept even when no such source exists.
    source_identifier = models.CharField(
        _("source identifier"), max_length=200, null=True, blank=True
    )
    source = models.ForeignKey(
        WebhookSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rejections",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_rejections",
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    headers = models.JSONField(_("headers (redacted)"), default=dict, blank=True)
    body_size = models.PositiveIntegerField(_("body size (bytes)"), default=0)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True)
    # A signed test sent from the admin: shown on its source, left out of the figures.
    is_self_test = models.BooleanField(_("self-test"), default=False)

    class Meta:
        verbose_name = _("webhook rejection")
        verbose_name_plural = _("webhook rejections")
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    reason__in=[
                        "unsupported_media_type",
                        "payload_too_large",
                        "malformed_payload",
                        "missing_signature_headers",
                        "unknown_source",
                        "source_disabled",
                        "secret_not_configured",
                        "timestamp_out_of_tolerance",
                        "invalid_signature",
                    ]
                ),
                name="webhook_rejection_reason_valid",
            ),
        ]
        indexes = [
            # Counting by reason over a time window (health dashboard).
            models.Index(fields=["reason", "received_at"], name="webhook_rejection_reason_time"),
            models.Index(fields=["source", "-received_at"], name="webhook_rejection_source"),
            # The flood limiter counts one address's recent rejections (SPEC §4.3 Floods).
            models.Index(
                fields=["client_address", "received_at"], name="webhook_rejection_client_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.status_code})"

    @property
    def detail_message(self) -> Message | None:
        return Message(self.detail_code, self.detail_params) if self.detail_code else None

    @property
    def detail(self) -> str:
        """The detail in the active language ("" if there is none)."""
        detail = self.detail_message
        return detail.render() if detail is not None else ""

    @detail.setter
    def detail(self, value: Message | str | None) -> None:
        if not value:
            self.detail_code, self.detail_params = "", {}
            return
        detail = as_message(value)
        self.detail_code, self.detail_params = detail.code, detail.to_json()["params"]


class WebhookRejectionRollup(models.Model):
    """Rejections from one address beyond the rate, counted per reason and minute.

    Past `WEBHOOK_REJECTION_RATE_PER_MINUTE` an address's refusals are answered
    `429 rate_limited` and only counted here, so forged traffic cannot fill the database.
    """

    # "" when the client address could not be read.
    client_address = models.CharField(_("client address"), max_length=45, blank=True)
    reason = models.CharField(_("reason"), max_length=40, choices=WebhookRejection.Reason.choices)
    minute = models.DateTimeField(_("minute"))
    count = models.PositiveIntegerField(_("requests"), default=0)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook rejection roll-up")
        verbose_name_plural = _("webhook rejection roll-ups")
        ordering = ["-minute", "client_address", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["client_address", "reason", "minute"],
                name="unique_webhook_rejection_rollup",
            ),
        ]
        indexes = [models.Index(fields=["minute"], name="webhook_rollup_minute")]

    def __str__(self) -> str:
        return f"{self.client_address or '?'} {self.reason} ×{self.count}"


class WebhookHealth(WebhookSource):
    """Admin index entry for the webhook health dashboard (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("webhook health")
        verbose_name_plural = _("webhook health")


class WebhookDryRun(WebhookSource):
    """Admin index entry for *Try a payload* (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("try a payload")
        verbose_name_plural = _("try a payload")
