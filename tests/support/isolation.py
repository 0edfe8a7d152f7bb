"""Reusable organisation-isolation checks for admin screens (one line per admin)."""

import functools

from django.urls import reverse


def admin_url(obj, view: str = "change") -> str:
    meta = obj._meta
    if view == "changelist":
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def assert_admin_isolated(client, *, own, other, marker=str) -> None:
    """As the logged-in organisation admin: `own` is listed and opens, `other` is neither.

    `marker` turns an object into the text that identifies it on the changelist.
    """
    changelist = client.get(admin_url(own, "changelist"))
    assert changelist.status_code == 200
    body = changelist.content.decode()
    assert marker(own) in body
    assert marker(other) not in body

    assert client.get(admin_url(own)).status_code == 200
    for view in ("change", "history", "delete"):
        response = client.get(admin_url(other, view))
        assert response.status_code in (403, 404), (view, response.status_code)
        assert marker(other) not in response.content.decode()


def assert_admin_sees_all(client, *objects, marker=str) -> None:
    body = client.get(admin_url(objects[0], "changelist")).content.decode()
    for obj in objects:
        assert marker(obj) in body
        assert client.get(admin_url(obj)).status_code == 200


def assert_admin_hidden(client, obj) -> None:
    """The screen does not exist for this user at all (global-admin-only data)."""
    assert client.get(admin_url(obj, "changelist")).status_code == 403
    assert client.get(admin_url(obj)).status_code in (403, 404)


# --- the isolation registry ---------------------------------------------------------------
# A test proving two-organisation isolation for a screen or route declares it with
# `@isolation_test("admin:sync_inboundevent_changelist", ...)` (URL names, as `reverse`
# takes them). tests/test_tenancy_coverage.py reads these declarations from the test
# sources and fails for any registered ModelAdmin, custom admin URL or /api/v1/ route
# without one. The decorator also fails the test itself unless it really requested each
# declared URL, so a declaration cannot drift away from what the test does.

ISOLATION_DECORATOR = "isolation_test"


def _requested_view_names(environ) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        return resolve(environ.get("PATH_INFO", "")).view_name
    except Resolver404:
        return None


def isolation_test(*url_names: str):
    if not url_names or not all(isinstance(name, str) for name in url_names):
        raise TypeError("isolation_test takes the URL names the test proves isolation for")

    def decorate(test):
        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            from django.core.signals import request_started

            requested: set[str] = set()

            def record(sender, environ=None, **_kwargs):
                name = _requested_view_names(environ or {})
                if name:
                    requested.add(name)

            request_started.connect(record, weak=False)
            try:
                result = test(*args, **kwargs)
            finally:
                request_started.disconnect(record)
            missing = sorted(set(url_names) - requested)
            assert not missing, (
                f"{test.__name__} declares isolation for {missing} but never requested them"
            )
            return result

        wrapper.isolation_targets = url_names
        return wrapper

    return decorate
