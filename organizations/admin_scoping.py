"""The one place where Django admin screens are narrowed to the user's organisations.

Every ModelAdmin in the project derives from `OrganizationScopedAdmin` (organisation
data) or `GlobalAdminOnlyAdmin` (platform data: sources, secrets, health). Subclasses
set `organization_lookup` and `org_admin_permissions`; they must not override
`get_queryset` to widen it — override `get_scoped_queryset` to add joins instead.
"""

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Literal

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpResponseBase

from organizations.admin_errors import GlobalAdminsOnly
from organizations.models import Organization
from organizations.permissions import (
    GLOBAL_ADMIN_GROUP,
    administered_organization_ids,
    scope_to_user_organizations,
    user_is_global_admin,
)
from organizations.requests import AuthenticatedHttpRequest

ALL_ACTIONS = frozenset({"view", "add", "change", "delete"})


class OrganizationScopedAdmin(admin.ModelAdmin):
    _defines_scoping = True
    # ORM path from the model to Organization; "" when the model is Organization.
    organization_lookup: str | None = None
    # What an organisation administrator may do here (global admins may do everything).
    org_admin_permissions: frozenset[str] = frozenset({"view"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Refused at class creation: a subclass that replaces the scoped queryset hook
        # could forget the organisation filter (only the two bases here define it).
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ and not cls.__dict__.get("_defines_scoping", False):
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset; override get_scoped_queryset instead "
                "so the organisation filter cannot be forgotten."
            )

    # --- queryset -------------------------------------------------------------------
    def get_scoped_queryset(self, request) -> QuerySet:
        return super().get_queryset(request)

    def get_queryset(self, request) -> QuerySet:
        if self.organization_lookup is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must set organization_lookup")
        return scope_to_user_organizations(
            self.get_scoped_queryset(request), user=request.user, lookup=self.organization_lookup
        )

    def get_object(self, request, object_id, from_field=None):
        # Another organisation's object and a missing one answer the same: 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    # --- permissions ----------------------------------------------------------------
    def _org_admin_may(self, request, action: str, obj: Model | None = None) -> bool:
        if user_is_global_admin(request.user):
            return True
        if action not in self.org_admin_permissions:
            return False
        if not administered_organization_ids(request.user):
            return False
        return obj is None or self.object_in_scope(request, obj)

    def object_in_scope(self, request, obj: Model) -> bool:
        if obj.pk is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request) -> bool:
        return self._org_admin_may(request, "view")

    def has_view_permission(self, request, obj=None) -> bool:
        return self._org_admin_may(request, "view", obj) or self._org_admin_may(
            request, "change", obj
        )

    def has_add_permission(self, request) -> bool:
        return self._org_admin_may(request, "add")

    def has_change_permission(self, request, obj=None) -> bool:
        return self._org_admin_may(request, "change", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._org_admin_may(request, "delete", obj)

    # --- choices and filters ----------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = scoped_choices(db_field.related_model, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        # RelatedOnlyFieldListFilter lists only organisations present in the scoped rows,
        # so filter choices never reveal another organisation's name.
        return [
            (entry, admin.RelatedOnlyFieldListFilter)
            if isinstance(entry, str) and entry.split("__")[-1] == "organization"
            else entry
            for entry in super().get_list_filter(request)
        ]

    def save_model(self, request, obj, form, change):
        organization_id = _organization_id_of(obj, self.organization_lookup)
        if not user_is_global_admin(request.user) and (
            organization_id not in administered_organization_ids(request.user)
        ):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class GlobalAdminOnlyAdmin(OrganizationScopedAdmin):
    """Platform-wide data: invisible to organisation administrators."""

    organization_lookup = ""
    org_admin_permissions = frozenset()
    _defines_scoping = True

    def get_queryset(self, request) -> QuerySet:
        if not user_is_global_admin(request.user):
            return self.get_scoped_queryset(request).none()
        return self.get_scoped_queryset(request)

    def save_model(self, request, obj, form, change):
        if not user_is_global_admin(request.user):
            raise PermissionDenied
        admin.ModelAdmin.save_model(self, request, obj, form, change)


# --- custom admin URLs -------------------------------------------------------------------
# Every URL a ModelAdmin adds in `get_urls` goes through one of these two wrappers (a
# meta-test refuses a custom admin URL without one). They replace the per-view guards:
# the check happens before the view runs, so a view cannot forget it.

TENANCY_GUARD_ATTRIBUTE = "tenancy_guard"
ORG_SCOPED = "org_scoped"
GLOBAL_ADMIN_ONLY = "global_admin_only"

AdminView = Callable[..., HttpResponseBase]


def _mark(view: AdminView, guard: str) -> AdminView:
    setattr(view, TENANCY_GUARD_ATTRIBUTE, guard)
    return view


def org_scoped(
    model_admin: admin.ModelAdmin,
    view: AdminView,
    *,
    permission: str = "view",
    per_object: bool = True,
) -> AdminView:
    """A custom admin URL on this admin's organisation-scoped rows.

    `per_object` (the URL has `object_id`): the object is looked up through the admin's
    scoped queryset — another organisation's object answers the admin's styled 404, like
    a missing one — then `has_<permission>_permission(request, obj)` is asked (403), and
    the view is called as `view(request, obj, *args, **kwargs)`. Without an object
    (`per_object=False`, e.g. an export of the list) the view gets the request and must
    read its rows from `model_admin.get_queryset(request)`.
    """
    check = getattr(model_admin, f"has_{permission}_permission")

    def guarded_object(
        request: AuthenticatedHttpRequest, object_id: str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None:  # get_object of a scoped admin raises already; never widen
            raise Http404
        if not check(request, obj):
            raise PermissionDenied
        return view(request, obj, *args, **kwargs)

    def guarded_list(
        request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        if not check(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    guarded = guarded_object if per_object else guarded_list
    update_wrapper(guarded, view)
    return _mark(model_admin.admin_site.admin_view(guarded), ORG_SCOPED)


def global_admin_only(model_admin: admin.ModelAdmin, view: AdminView) -> AdminView:
    """A custom admin URL for HLF's global administrators only (the styled 403 otherwise)."""

    def guarded(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not user_is_global_admin(request.user):
            raise GlobalAdminsOnly
        return view(request, *args, **kwargs)

    update_wrapper(guarded, view)
    return _mark(model_admin.admin_site.admin_view(guarded), GLOBAL_ADMIN_ONLY)


def tenancy_guard_of(view: object) -> Literal["org_scoped", "global_admin_only"] | None:
    """Which wrapper guards a URL's callback (None: none — refused by the meta-test)."""
    return getattr(view, TENANCY_GUARD_ATTRIBUTE, None)


class ReadOnlyAdminMixin:
    """Logs are written by the system only: no add, change or delete in the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrganizationScopedInline(admin.TabularInline):
    """Inline rows follow their parent's scope; choices are narrowed the same way."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = scoped_choices(db_field.related_model, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scoped_choices(related_model, user) -> QuerySet:
    """Foreign-key choices an admin form may offer this user."""
    queryset = related_model._default_manager.all()
    if related_model is Organization:
        return scope_to_user_organizations(queryset, user=user, lookup="")
    if related_model is get_user_model():
        if user_is_global_admin(user):
            return queryset
        # Login users an organisation admin may link: not staff, and not already linked
        # to a member of an organisation they do not administer.
        return (
            queryset.filter(is_staff=False, is_superuser=False)
            .exclude(groups__name=GLOBAL_ADMIN_GROUP)
            .filter(
                Q(member__isnull=True)
                | Q(member__organization_id__in=administered_organization_ids(user))
            )
        )
    if any(field.name == "organization" for field in related_model._meta.get_fields()):
        return scope_to_user_organizations(queryset, user=user, lookup="organization")
    return queryset


def _organization_id_of(obj: Model, lookup: str | None) -> int | None:
    if not lookup:
        return obj.pk
    target: Any = obj
    for part in lookup.split("__"):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target.pk
