"""The membership state: organisations, members, enrollments and who administers what."""

from django.conf import settings
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from organizations.fields import DisplaySafeDateTimeField

_HOST_LINE = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?"
allowed_hosts_validator = RegexValidator(
    regex=rf"^\s*(?:{_HOST_LINE}\s*(?:\n\s*{_HOST_LINE}\s*)*)?$",
    message=_("Enter one host name per line, e.g. minside.hlf.no."),
)


def allowed_hosts_parse(text: str) -> list[str]:
    """The host names of an `allowed_portal_hosts` text, one per line, lower-cased."""
    return [line.strip().lower() for line in text.splitlines() if line.strip()]


class Organization(models.Model):
    slug = models.SlugField(_("slug"), max_length=63, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_active = models.BooleanField(_("active"), default=True)
    portal_base_url = models.URLField(
        _("Min Side base URL"),
        blank=True,
        # Members are sent here when a feature has no deep link: https only (SPEC §3).
        validators=[URLValidator(schemes=["https"], message=_("Enter an https:// URL."))],
        help_text=_("Where members land in Min Side when a feature has no deep link."),
    )
    allowed_portal_hosts = models.TextField(
        _("allowed portal hosts"),
        blank=True,
        validators=[allowed_hosts_validator],
        help_text=_("Host names deep links may point to, one per line."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="organization_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def allowed_hosts(self) -> list[str]:
        return allowed_hosts_parse(self.allowed_portal_hosts)


class OrganizationAdministrator(models.Model):
    """A staff user who administers one organisation (SPEC §1)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="administered_organizations",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="administrators",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation administrator")
        verbose_name_plural = _("organisation administrators")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="unique_organization_administrator"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organization}"


class Member(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        PEER_MENTOR = "peer_mentor", _("Peer mentor")
        COORDINATOR = "coordinator", _("Coordinator")
        ORG_ADMIN = "org_admin", _("Organisation administrator")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="members",
        # unique_portal_member_per_organization starts with it. A second index on the
        # column alone is worse than redundant on SQLite: without statistics it prefers
        # it for "these members of this organisation" and reads every member of the
        # organisation (the drain's member lookup grew with the member count).
        db_index=False,
    )
    portal_member_id = models.CharField(
        _("Min Side member id"), max_length=100, help_text=_("The Dynamics contact id.")
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    role = models.CharField(
        _("app access level"), max_length=20, choices=Role.choices, default=Role.MEMBER
    )
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = DisplaySafeDateTimeField(_("deactivated at"), null=True, blank=True)
    deactivation_reason = models.CharField(_("deactivation reason"), max_length=255, blank=True)
    source_updated_at = DisplaySafeDateTimeField(
        _("last change applied from Min Side"), null=True, blank=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "portal_member_id"],
                name="unique_portal_member_per_organization",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["member", "peer_mentor", "coordinator", "org_admin"]),
                name="member_role_valid",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True) | Q(deactivated_at__isnull=False),
                name="inactive_member_has_deactivated_at",
            ),
        ]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.portal_member_id


class CourseEnrollment(models.Model):
    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        WAITLISTED = "waitlisted", _("Waitlisted")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    # Denormalised from the member so the per-organisation uniqueness is a constraint.
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="course_enrollments",
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="enrollments",
    )
    portal_enrollment_id = models.CharField(_("Min Side enrollment id"), max_length=100)
    course_id = models.CharField(_("course id"), max_length=100, blank=True)
    course_name = models.CharField(_("course"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ENROLLED
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    source_updated_at = DisplaySafeDateTimeField(
        _("last change applied from Min Side"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("course enrollment")
        verbose_name_plural = _("course enrollments")
        ordering = ["-starts_on", "course_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "portal_enrollment_id"],
                name="unique_portal_enrollment_per_organization",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["enrolled", "waitlisted", "completed", "cancelled"]),
                name="enrollment_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_name or self.course_id} ({self.get_status_display()})"
