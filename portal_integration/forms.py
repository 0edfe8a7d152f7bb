"""Admin forms: the per-feature owner/link fields shared by the config screen and onboarding."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from organizations.models import Organization, allowed_hosts_validator
from portal_integration.catalog import Owner
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
        errors = error.error_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, messages in errors.items():
            if name in feature_keys:
                field = self.link_field(name)
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


class OnboardingForm(FeatureFieldsForm):
    slug = forms.SlugField(label=_("Slug"), max_length=63, help_text=_("e.g. hlf-tromso"))
    name = forms.CharField(label=_("Name"), max_length=200)
    parent = forms.ModelChoiceField(
        label=_("Parent organisation"), queryset=Organization.objects.all(), required=False
    )
    portal_base_url = forms.URLField(
        label=_("Min Side base URL"),
        help_text=_("Where members land in Min Side when a feature has no deep link."),
    )
    allowed_hosts = forms.CharField(
        label=_("Allowed portal hosts"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        validators=[allowed_hosts_validator],
        help_text=_("Host names deep links may point to, one per line."),
    )
    source_identifier = forms.CharField(
        label=_("Webhook source identifier"),
        max_length=200,
        help_text=_(
            "The envelope's source, or the Dataverse OrganizationId Min Side sends with its events."
        ),
    )
    secret = forms.CharField(
        label=_("Webhook secret"),
        required=False,
        help_text=_("Leave empty to generate one (recommended). Format: whsec_…"),
        widget=forms.PasswordInput(render_value=False),
    )
    tolerance_seconds = forms.IntegerField(
        label=_("Timestamp tolerance (seconds)"), min_value=1, max_value=3600
    )

    field_order = [
        "slug",
        "name",
        "parent",
        "portal_base_url",
        "allowed_hosts",
        "source_identifier",
        "secret",
        "tolerance_seconds",
    ]

    def __init__(self, *args, template: PlatformTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portal_base_url"].initial = template.default_portal_base_url
        self.fields["allowed_hosts"].initial = template.default_allowed_portal_hosts
        self.fields["tolerance_seconds"].initial = template.default_tolerance_seconds

    def general_fields(self):
        return [self[name] for name in self.field_order]

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
            "features": self.feature_settings(),
        }
