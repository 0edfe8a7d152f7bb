"""Admin forms: the per-feature owner/link fields shared by the config screen and onboarding."""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from organizations.models import Organization, allowed_hosts_parse, allowed_hosts_validator
from portal_integration.catalog import Owner
from portal_integration.deep_links import deep_link_validate, portal_link_problem
from portal_integration.models import PlatformTemplate
from portal_integration.selectors import FeatureState
from portal_integration.services import FeatureSetting

# Service error keys that belong to a differently named form field.
_FIELD_ALIASES = {"allowed_portal_hosts": "allowed_hosts", "identifier": "source_identifier"}


class FeatureFieldsForm(forms.Form):
    """One owner choice and one deep-link field per catalog feature."""

    def __init__(self, *args, features: list[FeatureState], **kwargs):
        super().__init__(*args, **kwargs)
        self.features = features
        for feature in features:
            self.fields[self.owner_field(feature.key)] = forms.ChoiceField(
                label=feature.name,
                choices=Owner.choices,
                initial=feature.owner,
                widget=forms.RadioSelect,
            )
            self.fields[self.link_field(feature.key)] = forms.CharField(
                label=_("Deep link for %(feature)s") % {"feature": feature.name},
                required=False,
                max_length=500,
                initial=feature.url_template,
                widget=forms.TextInput(attrs={"placeholder": "https://…"}),
            )

    @staticmethod
    def owner_field(key: str) -> str:
        return f"owner__{key}"

    @staticmethod
    def link_field(key: str) -> str:
        return f"link__{key}"

    def feature_rows(self):
        """(feature, owner bound field, link bound field) for the template."""
        return [
            (feature, self[self.owner_field(feature.key)], self[self.link_field(feature.key)])
            for feature in self.features
        ]

    def feature_settings(self) -> dict[str, FeatureSetting]:
        return {
            feature.key: FeatureSetting(
                owner=self.cleaned_data[self.owner_field(feature.key)],
                url_template=self.cleaned_data[self.link_field(feature.key)].strip(),
            )
            for feature in self.features
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError next to the fields it is about."""
        feature_keys = {feature.key for feature in self.features}
        errors: dict[str | None, Any] = {}
        if hasattr(error, "error_dict"):
            errors.update(error.error_dict)
        else:
            errors[None] = error.messages
        for name, messages in errors.items():
            field: str | None
            if name is not None and name in feature_keys:
                field = self.link_field(name)
            elif name is None:
                field = None
            else:
                field = _FIELD_ALIASES.get(name, name)
                if field not in self.fields:
                    field = None
            for message in messages:
                self.add_error(field, message)


class PortalConfigurationForm(FeatureFieldsForm):
    """The config screen of one organisation."""

    # The version the admin started from, so a concurrent save is not overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_RULE = _(
    "Use only lower-case letters a–z, digits and hyphens, e.g. hlf-tromso. Capitals, "
    "spaces and the letters æ, ø and å are not allowed (write “tromso”, not “Tromsø”)."
)
SECRET_RULE = _(
    "Paste the secret exactly as you got it: it starts with whsec_ followed by a long code "
    "of letters, digits and the signs + / = (at least 32 characters after whsec_). Or leave "
    "the field empty and a safe secret is made for you."
)


class OnboardingForm(FeatureFieldsForm):
    slug = forms.CharField(
        label=_("Short name in addresses (slug)"),
        max_length=63,
        help_text=SLUG_RULE,
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    confirm_duplicate_name = forms.BooleanField(
        label=_("Yes, this is another organisation with the same name"),
        required=False,
    )
    parent = forms.ModelChoiceField(
        label=_("Parent organisation"), queryset=Organization.objects.all(), required=False
    )
    portal_base_url = forms.URLField(
        label=_("Min Side base URL"),
        help_text=_(
            "Where members land in Min Side when a feature has no deep link. Must start "
            "with https://."
        ),
        error_messages={
            "invalid": _(
                "Enter a full web address starting with https://, e.g. https://minside.hlf.no/"
            ),
        },
    )
    allowed_hosts = forms.CharField(
        label=_("Allowed portal hosts"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        validators=[allowed_hosts_validator],
        help_text=_(
            "Host names deep links may point to, one per line, without https:// "
            "(e.g. minside.hlf.no)."
        ),
    )
    source_identifier = forms.CharField(
        label=_("Webhook source identifier"),
        max_length=200,
        help_text=_(
            "The name Min Side puts on this organisation's events (the envelope's source), "
            "or the Dataverse OrganizationId it sends. Ask the Min Side team."
        ),
    )
    secret = forms.CharField(
        label=_("Webhook secret"),
        required=False,
        help_text=SECRET_RULE,
        widget=forms.PasswordInput(render_value=False),
    )
    tolerance_seconds = forms.IntegerField(
        label=_("Timestamp tolerance (seconds)"),
        min_value=1,
        max_value=3600,
        help_text=_(
            "How old a signed event may be when it arrives before it is refused "
            "(1–3600 seconds; 300 is usual)."
        ),
    )
    routing_value = forms.CharField(
        label=_("Routing value (shared source)"),
        required=False,
        max_length=100,
        help_text=_(
            "Only for one Dynamics environment serving many organisations: the Dataverse id of "
            "this organisation's local-chapter account. The organisation joins the source above "
            "(its secret stays as it is and is not shown), or creates it as a shared source."
        ),
    )

    field_order = [
        "slug",
        "name",
        "confirm_duplicate_name",
        "parent",
        "portal_base_url",
        "allowed_hosts",
        "source_identifier",
        "secret",
        "tolerance_seconds",
        "routing_value",
    ]

    def __init__(self, *args, template: PlatformTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portal_base_url"].initial = template.default_portal_base_url
        self.fields["allowed_hosts"].initial = template.default_allowed_portal_hosts
        self.fields["tolerance_seconds"].initial = template.default_tolerance_seconds

    def general_fields(self):
        names = list(self.field_order)
        if not self.duplicate_name_asked:
            names.remove("confirm_duplicate_name")
        return [self[name] for name in names]

    @property
    def duplicate_name_asked(self) -> bool:
        """The "same name" question is shown once the name turned out to be taken."""
        return self.is_bound and (
            "name" in self.errors
            and self.errors["name"].as_data()[0].code == "duplicate_name"
            or bool(self.data.get("confirm_duplicate_name"))
        )

    # Every check that can be made before anything is written is made here, so one
    # submit reports every mistake, each next to its field.
    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip()
        if not _SLUG.match(slug):
            raise ValidationError(SLUG_RULE, code="invalid_slug")
        if Organization.objects.filter(slug=slug).exists():
            raise ValidationError(
                _("An organisation with the slug %(slug)s already exists; choose another.")
                % {"slug": slug},
                code="duplicate_slug",
            )
        return slug

    def clean_source_identifier(self) -> str:
        from webhooks.models import WebhookSource

        identifier = self.cleaned_data["source_identifier"].strip()
        # With a routing value an existing (shared) source is joined; the service checks it.
        joining = bool(str(self.data.get(self.add_prefix("routing_value"), "")).strip())
        if not joining and WebhookSource.objects.filter(identifier=identifier).exists():
            raise ValidationError(
                _(
                    "A webhook source with the identifier “%(identifier)s” already exists. "
                    "Each organisation needs its own; check the name with the Min Side team."
                )
                % {"identifier": identifier},
                code="duplicate_identifier",
            )
        return identifier

    def clean_secret(self) -> str:
        from webhooks import signing
        from webhooks.services import SECRET_MIN_KEY_BYTES

        secret = self.cleaned_data["secret"].strip()
        if not secret:
            return ""
        try:
            key = signing.secret_key_bytes(secret)
        except signing.SecretFormatError:
            raise ValidationError(SECRET_RULE, code="invalid_secret") from None
        if len(key) < SECRET_MIN_KEY_BYTES:
            raise ValidationError(
                _("This secret is too short to be safe. %(rule)s") % {"rule": SECRET_RULE},
                code="short_secret",
            )
        return secret

    def clean(self):
        data = super().clean() or {}
        name = (data.get("name") or "").strip()
        if (
            name
            and Organization.objects.filter(name__iexact=name).exists()
            and not data.get("confirm_duplicate_name")
        ):
            self.add_error(
                "name",
                ValidationError(
                    _(
                        "An organisation called “%(name)s” already exists. Is this really "
                        "another one? Then tick the box below; otherwise use the existing one."
                    )
                    % {"name": name},
                    code="duplicate_name",
                ),
            )
        hosts = allowed_hosts_parse(data.get("allowed_hosts") or "")
        base_url = data.get("portal_base_url") or ""
        if base_url and not base_url.lower().startswith("https://"):
            self.add_error(
                "portal_base_url",
                ValidationError(
                    _("The Min Side base URL must start with https://."), code="not_https"
                ),
            )
            base_url = ""
        for feature in self.features:
            owner = data.get(self.owner_field(feature.key))
            link = (data.get(self.link_field(feature.key)) or "").strip()
            link_field = self.link_field(feature.key)
            if link_field in self.errors:
                continue
            problem = None
            if link:
                try:
                    deep_link_validate(url_template=link, allowed_hosts=hosts)
                except ValidationError as error:
                    problem = error.messages[0]
            if problem is None and owner == Owner.PORTAL and "portal_base_url" not in self.errors:
                problem = portal_link_problem(
                    url_template=link, base_url=base_url, allowed_hosts=hosts
                )
            if problem:
                self.add_error(link_field, problem)
        return data

    def onboarding_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "slug": data["slug"],
            "name": data["name"],
            "parent": data["parent"],
            "portal_base_url": data["portal_base_url"],
            "allowed_hosts": [
                line.strip() for line in data["allowed_hosts"].splitlines() if line.strip()
            ],
            "source_identifier": data["source_identifier"].strip(),
            "secret": data["secret"].strip() or None,
            "tolerance_seconds": data["tolerance_seconds"],
            "routing_value": data["routing_value"].strip() or None,
            "features": self.feature_settings(),
        }
