"""Tenancy is enforced in one place, and every screen and route has an isolation test.

Enumerates what exists — every registered ModelAdmin, every custom admin URL (from each
ModelAdmin's and the admin site's `get_urls`), every /api/v1/ route (from the URL
resolver) — and fails when one has no test declared with `@isolation_test(...)` (see
tests/support/isolation.py). The declarations are read from the test sources, so this
test needs no other test module imported and catches a new screen on its own.
"""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.urls import URLPattern, URLResolver, get_resolver

from organizations.admin_scoping import (
    GLOBAL_ADMIN_ONLY,
    ORG_SCOPED,
    OrganizationScopedAdmin,
    tenancy_guard_of,
)
from organizations.models import Member, Organization
from portal_integration.api_scoping import OrganizationScopedAPIView
from tests.support.isolation import ISOLATION_DECORATOR

TESTS = Path(__file__).resolve().parent


def declared_isolation_targets() -> dict[str, list[str]]:
    """URL name → the tests (file::function) that declare isolation for it."""
    targets: dict[str, list[str]] = {}
    for source in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not node.name.startswith("test"):
                continue
            for decorator in node.decorator_list:
                if not (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", getattr(decorator.func, "attr", None))
                    == ISOLATION_DECORATOR
                ):
                    continue
                for argument in decorator.args:
                    assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), (
                        f"{source.name}:{node.lineno}: isolation_test takes literal URL names"
                    )
                    targets.setdefault(argument.value, []).append(
                        f"{source.relative_to(TESTS)}::{node.name}"
                    )
    return targets


def model_admin_targets() -> list[str]:
    return sorted(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        for model in admin.site._registry
    )


def custom_admin_urls(*, project_only: bool = False) -> list[URLPattern]:
    """Every admin URL that is not one of Django's own (changelist, add, change, …).

    `project_only`: leave out third-party admins' own additions (e.g. auth's password
    page), which we cannot wrap; they still need an isolation test.
    """
    custom = []
    for model_admin in admin.site._registry.values():
        if project_only and not isinstance(model_admin, OrganizationScopedAdmin):
            continue
        standard = {pattern.name for pattern in admin.ModelAdmin.get_urls(model_admin)}
        custom += [p for p in model_admin.get_urls() if p.name not in standard]
    site_standard = {p.name for p in AdminSite.get_urls(admin.site) if isinstance(p, URLPattern)}
    custom += [
        p
        for p in admin.site.get_urls()
        if isinstance(p, URLPattern) and p.name not in site_standard
    ]
    return custom


def api_routes() -> list[URLPattern]:
    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif route.startswith("api/v1/"):
                yield pattern

    return list(walk(get_resolver().url_patterns, ""))


# --- the meta-test ----------------------------------------------------------------------


def test_the_enumeration_finds_what_exists():
    # Guards the guard: an enumeration that silently found nothing would pass below.
    assert "admin:sync_inboundevent_changelist" in model_admin_targets()
    assert len(model_admin_targets()) >= 20
    assert {p.name for p in custom_admin_urls()} >= {
        "sync_inboundevent_reprocess",
        "portal_integration_portalconfiguration_preview",
        "monitoring_health",
    }
    assert {p.name for p in api_routes()} >= {"api-portal-config", "api-organization-members"}


def test_every_project_model_admin_derives_from_a_scoping_base():
    third_party = {"auth", "authtoken", "django_celery_beat"}
    unscoped = [
        type(model_admin).__name__
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label not in third_party
        and not isinstance(model_admin, OrganizationScopedAdmin)
    ]
    assert not unscoped, unscoped


def test_every_model_admin_has_an_isolation_test():
    declared = declared_isolation_targets()
    missing = [name for name in model_admin_targets() if name not in declared]
    assert not missing, f"ModelAdmins without an @isolation_test: {missing}"


def test_every_custom_admin_url_is_wrapped_and_has_an_isolation_test():
    declared = declared_isolation_targets()
    unguarded = [
        p.name
        for p in custom_admin_urls(project_only=True)
        if tenancy_guard_of(p.callback) not in (ORG_SCOPED, GLOBAL_ADMIN_ONLY)
    ]
    assert not unguarded, f"custom admin URLs without org_scoped/global_admin_only: {unguarded}"
    missing = [p.name for p in custom_admin_urls() if f"admin:{p.name}" not in declared]
    assert not missing, f"custom admin URLs without an @isolation_test: {missing}"


def test_every_api_route_is_scoped_and_has_an_isolation_test():
    declared = declared_isolation_targets()
    for pattern in api_routes():
        view_class = pattern.callback.cls  # type: ignore[attr-defined]
        assert issubclass(view_class, OrganizationScopedAPIView), pattern.name
        # No view needs the escape hatch today; one that does must be reviewed.
        assert not view_class.dangerously_unscoped, pattern.name
    missing = [p.name for p in api_routes() if p.name not in declared]
    assert not missing, f"/api/v1/ routes without an @isolation_test: {missing}"


def test_declared_targets_exist():
    # A typo in a declaration would otherwise count as nobody's coverage and hide a gap.
    known = set(model_admin_targets())
    known |= {f"admin:{p.name}" for p in custom_admin_urls()}
    known |= {p.name for p in api_routes()}
    unknown = sorted(set(declared_isolation_targets()) - known)
    assert not unknown, f"@isolation_test names no such screen or route: {unknown}"


# --- the base classes refuse what would widen the scope ----------------------------------


@pytest.mark.parametrize(
    "hook",
    ["get_queryset", "get_object", "get_permissions", "check_permissions", "filter_queryset"],
)
def test_an_api_view_cannot_override_a_scoping_hook(hook):
    with pytest.raises(ImproperlyConfigured, match=hook):
        type("LeakyView", (OrganizationScopedAPIView,), {hook: lambda self, *a: None})


def test_an_api_view_cannot_replace_its_permission_classes():
    with pytest.raises(ImproperlyConfigured, match="permission_classes"):

        class OpenView(OrganizationScopedAPIView):  # noqa: F841 - defining it is the test
            permission_classes = []


def test_an_api_view_supplies_rows_through_get_scoped_queryset():
    class MembersView(OrganizationScopedAPIView):
        def get_scoped_queryset(self) -> QuerySet[Member]:
            return Member.objects.all()

    view = MembersView()
    view.organization = Organization(pk=4711)
    # The base adds the organisation filter whatever the subclass returned.
    where = view.get_queryset().query.where
    assert "Member.organization" in str(where) and "4711" in str(where)


def test_an_unscoped_api_view_must_say_so_in_its_name():
    with pytest.raises(ImproperlyConfigured, match="Dangerously"):

        class Unscoped(OrganizationScopedAPIView):  # noqa: F841
            dangerously_unscoped = True

    with pytest.raises(ImproperlyConfigured, match="Dangerously"):

        class DangerouslyNamedOnly(OrganizationScopedAPIView):  # noqa: F841
            pass

    class DangerouslyUnscopedExample(OrganizationScopedAPIView):
        dangerously_unscoped = True

        def get_queryset(self):  # allowed: the name says it
            return Member.objects.all()

    assert DangerouslyUnscopedExample.dangerously_unscoped


def test_an_admin_cannot_replace_the_scoped_queryset():
    with pytest.raises(ImproperlyConfigured, match="get_scoped_queryset"):

        class LeakyAdmin(OrganizationScopedAdmin):  # noqa: F841
            organization_lookup = "organization"

            def get_queryset(self, request):
                return Member.objects.all()
