"""Per-source Dataverse Web API connections, their delta links and the log of passes."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks.models import MASK_ELLIPSIS, WebhookSource

DEFAULT_AUTHORITY_URL = "https://login.microsoftonline.com"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def url_is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def validate_service_url(value: str) -> None:
    """https only; plain http only on a loopback host (the fake Dataverse, SPEC §5.1)."""
    URLValidator(schemes=["http", "https"])(value)
    parts = urlsplit(value)
    if parts.scheme != "https" and not url_is_loopback(value):
        raise ValidationError(
            _("Enter an https:// URL (plain http:// only for a loopback host)."), code="https"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(
            _("Enter the URL without credentials, query or fragment."), code="url_parts"
        )


class DataverseConnection(models.Model):
    """How reconciliation reaches a source's Dataverse environment (SPEC §5.1)."""

    source = models.OneToOneField(
        WebhookSource,
        verbose_name=_("webhook source"),
        on_delete=models.CASCADE,
        related_name="dataverse_connection",
    )
    environment_url = models.CharField(
        _("environment URL"),
        max_length=300,
        validators=[validate_service_url],
        help_text=_("e.g. https://hlf.crm4.dynamics.com"),
    )
    tenant_id = models.CharField(_("Entra ID tenant id"), max_length=100)
    client_id = models.CharField(_("client id"), max_length=100)
    client_secret_ciphertext = models.TextField(_("encrypted client secret"), editable=False)
    # Enough to recognise the secret on screen, too little to help guess it.
    client_secret_last4 = models.CharField(
        _("last characters of the client secret"), max_length=4, blank=True, editable=False
    )
    authority_url = models.CharField(
        _("authority URL"),
        max_length=300,
        default=DEFAULT_AUTHORITY_URL,
        validators=[validate_service_url],
    )
    contact_entity_set = models.CharField(
        _("contact entity set"),
        max_length=100,
        blank=True,
        help_text=_("Empty: contacts."),
    )
    enrollment_entity_set = models.CharField(
        _("enrollment entity set"),
        max_length=100,
        blank=True,
        help_text=_("Empty: the mapping's enrollment entity + “s”."),
    )
    is_enabled = models.BooleanField(
        _("reconcile periodically"),
        default=True,
        help_text=_("Off: passes run only when started by hand."),
    )
    # The lease that keeps one pass per source at a time; renewed page by page.
    lease_token = models.CharField(max_length=64, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Dataverse connection")
        verbose_name_plural = _("Dataverse connections")
        ordering = ["source__identifier"]

    def __str__(self) -> str:
        return str(self.source)

    @property
    def client_secret_masked(self) -> str:
        return f"{MASK_ELLIPSIS}{self.client_secret_last4}" if self.client_secret_last4 else ""

    def entity_set(self, *, kind: str) -> str:
        if kind == "contact":
            return self.contact_entity_set or "contacts"
        return self.enrollment_entity_set or f"{self.source.mapping.enrollment_entity}s"


class DataverseDeltaLink(models.Model):
    """The `@odata.deltaLink` of one table, saved only after a pass read its last page."""

    connection = models.ForeignKey(
        DataverseConnection, on_delete=models.CASCADE, related_name="delta_links"
    )
    entity_set = models.CharField(_("entity set"), max_length=100)
    link = models.TextField(_("delta link"))
    # The $select the link was made with: other columns need a new full pass.
    select = models.TextField(_("columns"))
    saved_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        verbose_name = _("delta link")
        verbose_name_plural = _("delta links")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity_set"], name="unique_delta_link_per_table"
            ),
        ]

    def __str__(self) -> str:
        return self.entity_set


class ReconcilePass(models.Model):
    """One reconciliation pass of one source: what it read, recorded and found."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        COMMAND = "command", _("Command")
        ADMIN = "admin", _("Admin")

    connection = models.ForeignKey(
        DataverseConnection,
        verbose_name=_("connection"),
        on_delete=models.CASCADE,
        related_name="passes",
    )
    source_identifier = models.CharField(_("source"), max_length=200)
    trigger = models.CharField(_("started by"), max_length=20, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    full_requested = models.BooleanField(_("full pass requested"), default=False)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    events_recorded = models.PositiveIntegerField(_("events recorded"), default=0)
    deleted = models.PositiveIntegerField(_("deleted rows"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    requests = models.PositiveIntegerField(_("Web API requests"), default=0)
    throttled = models.PositiveIntegerField(_("429 answers waited out"), default=0)
    # Per table: {"entity_set", "mode": full|delta, "rows", "pages", "delta_saved", "reset"}.
    tables = models.JSONField(_("tables"), default=list, blank=True)
    # Readable, never containing a secret; empty unless something went wrong.
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("reconciliation pass")
        verbose_name_plural = _("reconciliation passes")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["connection", "-started_at"], name="reconcile_pass_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["running", "succeeded", "failed"]),
                name="reconcile_pass_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_identifier} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None

    @property
    def delta_resets(self) -> list[str]:
        return [table["reset"] for table in self.tables if table.get("reset")]
