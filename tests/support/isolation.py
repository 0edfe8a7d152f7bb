"""Reusable organisation-isolation checks for admin screens (one line per admin)."""

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
