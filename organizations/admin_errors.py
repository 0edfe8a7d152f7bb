"""Styled 403/404 pages inside the admin, in the reader's language, with a way back.

Django's defaults are a bare English "403 Forbidden" and, with DEBUG on (the demo), the
technical 404 page listing every URL. Inside /admin/ a refused or missing object is
rendered here instead, with the admin's header and navigation.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from organizations.models import Organization
from organizations.permissions import administered_organization_ids, user_is_global_admin


class GlobalAdminsOnly(PermissionDenied):
    """Raised by a custom admin view that only global administrators may use."""


class AdminErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, PermissionDenied | Http404):
            return None
        if not request.path.startswith(reverse("admin:index")):
            return None
        user = getattr(request, "user", None)
        if user is None or not (user.is_active and user.is_staff):
            return None  # the login page handles everybody else
        return admin_error_response(
            request,
            status=_status_for(request, exception),
            global_only=isinstance(exception, GlobalAdminsOnly),
        )


def _status_for(request, exception) -> int:
    if isinstance(exception, PermissionDenied):
        return 403
    # A global-only screen answers "not for you" rather than "not found": nothing about
    # another organisation's data is revealed by saying that a whole screen is global.
    model_admin = _model_admin_for(request)
    if model_admin is not None and not model_admin.has_module_permission(request):
        return 403
    return 404


def _model_admin_for(request):
    match = getattr(request, "resolver_match", None)
    if match is None or not match.url_name:
        return None
    if match.url_name == "app_list":
        app_label = match.kwargs.get("app_label")
        admins = [
            model_admin
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label == app_label
        ]
        # The app is global-only when the user may see none of its screens.
        if admins and not any(a.has_module_permission(request) for a in admins):
            return admins[0]
        return None
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if match.url_name.startswith(prefix):
            return model_admin
    return None


def admin_error_response(request, *, status: int, global_only: bool = False) -> TemplateResponse:
    """The styled page itself (also rendered directly by views that refuse an object)."""
    user = request.user
    global_admin = user_is_global_admin(user)
    organizations = (
        []
        if global_admin
        else list(
            Organization.objects.filter(pk__in=administered_organization_ids(user)).order_by("name")
        )
    )
    if status == 403:
        title = _("You do not have access to this page")
        if (global_only or _model_admin_for(request) is not None) and not global_admin:
            reason = _(
                "This page is for HLF's global administrators only. You administer the "
                "organisations listed below; ask a global administrator if you need "
                "something changed here."
            )
        else:
            reason = _(
                "Your account may not do this here. Ask a global administrator if you "
                "think it should."
            )
    else:
        title = _("Not found")
        reason = _(
            "There is nothing here: the page or object does not exist (any more), or it "
            "belongs to an organisation you do not administer."
        )
    referer = request.META.get("HTTP_REFERER", "")
    back_url = (
        referer
        if referer
        and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and referer != request.build_absolute_uri()
        else ""
    )
    context = {
        **admin.site.each_context(request),
        "title": title,
        "reason": reason,
        "status": status,
        "organizations": organizations,
        "back_url": back_url,
    }
    response = TemplateResponse(request, "admin/error_page.html", context, status=status)
    response.render()
    return response
