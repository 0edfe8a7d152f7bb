"""Per-organisation portal configuration: features, ownership, deep links, the template."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from organizations.models import Organization
from portal_integration.catalog import Owner, catalog_name

OWNER_VALUES = [choice.value for choice in Owner]


class Feature(models.Model):
    """A catalog feature as the database knows it; outlives its removal from the catalog."""

    key = models.SlugField(_("key"), max_length=63, unique=True)
    name = models.CharField(_("name"), max_length=200)
    default_owner = models.CharField(
        _("catalog default owner"), max_length=10, choices=Owner.choices, default=Owner.APP
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_retired = models.BooleanField(
        _("retired"),
        default=False,
        help_text=_("No longer in the catalog: hidden from the app, history kept."),
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_owner__in=OWNER_VALUES), name="feature_default_owner_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(self.display_name)

    @property
    def display_name(self):
        return catalog_name(self.key, self.name)


class PlatformTemplate(models.Model):
    """The platform default template (a singleton): where every new organisation starts."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    default_portal_base_url = models.URLField(
        _("default Min Side base URL"), blank=True, default="https://minside.hlf.no/"
    )
    default_allowed_portal_hosts = models.TextField(
        _("default allowed portal hosts"),
        blank=True,
        default="minside.hlf.no",
        help_text=_("Host names deep links may point to, one per line."),
    )
    default_tolerance_seconds = models.PositiveIntegerField(
        _("default webhook timestamp tolerance (seconds)"), default=300
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("platform default template")
        verbose_name_plural = _("platform default template")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="platform_template_singleton"),
            models.CheckConstraint(
                condition=Q(default_tolerance_seconds__gte=1),
                name="platform_template_tolerance_positive",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Platform default template"))

    @property
    def default_allowed_hosts(self) -> list[str]:
        # Parsed exactly as an organisation's own list is.
        return Organization(allowed_portal_hosts=self.default_allowed_portal_hosts).allowed_hosts


class TemplateFeature(models.Model):
    """The template's default owner and deep link for one feature."""

    template = models.ForeignKey(
        PlatformTemplate,
        verbose_name=_("template"),
        on_delete=models.CASCADE,
        related_name="features",
    )
    feature = models.OneToOneField(
        Feature,
        verbose_name=_("feature"),
        on_delete=models.CASCADE,
        related_name="template_setting",
    )
    default_owner = models.CharField(
        _("default owner"), max_length=10, choices=Owner.choices, default=Owner.APP
    )
    default_deep_link = models.CharField(
        _("default deep link"),
        max_length=500,
        blank=True,
        help_text=_(
            "https URL; may use {member_id}, {organization}, {source}, {locale}, {feature}."
        ),
    )

    class Meta:
        verbose_name = _("template feature")
        verbose_name_plural = _("template features")
        ordering = ["feature__position", "feature__key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_owner__in=OWNER_VALUES),
                name="template_feature_owner_valid",
            ),
        ]

    def __str__(self) -> str:
        return str(self.feature)


class FeatureOwnership(models.Model):
    """Who owns a feature in one organisation: the app or Min Side."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="feature_ownerships",
    )
    feature = models.ForeignKey(
        Feature, verbose_name=_("feature"), on_delete=models.PROTECT, related_name="ownerships"
    )
    owner = models.CharField(_("owner"), max_length=10, choices=Owner.choices)
    history = HistoricalRecords(
        verbose_name=_("historical feature ownership"),
        user_model=settings.AUTH_USER_MODEL,
    )

    class Meta:
        verbose_name = _("feature ownership")
        verbose_name_plural = _("feature ownership")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "feature"], name="unique_feature_ownership"
            ),
            models.CheckConstraint(
                condition=Q(owner__in=OWNER_VALUES), name="feature_ownership_owner_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.feature}: {self.get_owner_display()}"


class DeepLink(models.Model):
    """The Min Side URL template of a feature in one organisation (SPEC §3)."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="deep_links",
    )
    feature = models.ForeignKey(
        Feature, verbose_name=_("feature"), on_delete=models.PROTECT, related_name="deep_links"
    )
    # Blank: no link; a portal-owned feature then falls back to the Min Side base URL.
    url_template = models.CharField(_("deep link"), max_length=500, blank=True)
    history = HistoricalRecords(
        verbose_name=_("historical deep link"),
        user_model=settings.AUTH_USER_MODEL,
    )

    class Meta:
        verbose_name = _("deep link")
        verbose_name_plural = _("deep links")
        constraints = [
            models.UniqueConstraint(fields=["organization", "feature"], name="unique_deep_link"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.feature}"


class PortalConfiguration(models.Model):
    """An organisation's configuration version, raised on every saved change."""

    organization = models.OneToOneField(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="portal_configuration",
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Unpublished edits: {feature key: {"owner": …, "url_template": …}}; members never see
    # them until published. `draft_base_version` is the version they were made against, so
    # publishing over someone else's newer save is refused like a stale form.
    draft = models.JSONField(_("draft"), default=dict, blank=True)
    draft_base_version = models.PositiveIntegerField(_("draft based on version"), null=True)
    draft_updated_at = models.DateTimeField(_("draft saved"), null=True, blank=True)
    draft_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("draft saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("portal integration config")
        verbose_name_plural = _("portal integration config")
        ordering = ["organization__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(version__gte=1), name="portal_configuration_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return str(self.organization)
