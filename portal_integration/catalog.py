"""The feature catalog: app features either the app or Min Side can own (SPEC §2).

Keys are stable forever: they are stored per organisation and used by the app. A
feature removed from this list is retired by `feature_catalog_reconcile`, not deleted.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Owner(models.TextChoices):
    APP = "app", _("The app")
    PORTAL = "portal", _("Min Side")


@dataclass(frozen=True)
class CatalogFeature:
    key: str
    name: str | Promise
    default_owner: str = Owner.APP
    default_deep_link: str = ""


FEATURE_CATALOG: tuple[CatalogFeature, ...] = (
    CatalogFeature("membership_profile", _("Membership profile")),
    CatalogFeature("membership_status", _("Membership status")),
    CatalogFeature("course_enrollment", _("Course enrollment")),
    CatalogFeature("course_certificates", _("Course certificates")),
    CatalogFeature("activity_registration", _("Activity registration")),
    CatalogFeature("expense_claims", _("Expense claims")),
    CatalogFeature("event_calendar", _("Event calendar")),
    CatalogFeature("contact_list", _("Contact list")),
)


def catalog_features() -> tuple[CatalogFeature, ...]:
    """The catalog as this release defines it (tests replace FEATURE_CATALOG)."""
    return FEATURE_CATALOG


def catalog_name(key: str, fallback: str) -> str | Promise:
    """The translated catalog name of a feature, or its stored name once retired."""
    for feature in catalog_features():
        if feature.key == key:
            return feature.name
    return fallback
