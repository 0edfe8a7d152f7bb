"""The one place where the app API is narrowed to one organisation (SPEC §1, §7).

Every /api/v1/ view derives from `OrganizationScopedAPIView`. Before a handler runs, the
permission below resolves the request's organisation through the one access function
(`portal_integration.permissions.organization_checked`) and stores it on the view as
`self.organization`. Subclasses supply their rows through `get_scoped_queryset()`; the
base filters them to `self.organization` along `organization_lookup`. They cannot
override the permission or queryset hooks — that is refused when the class is created,
like `OrganizationScopedAdmin` refuses a replaced `get_queryset`. A view that really
must be unscoped says so in its name (`Dangerously…`) and sets `dangerously_unscoped`;
none does today.
"""

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import generics
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from organizations.models import Member, Organization
from organizations.selectors import member_get_for_user
from portal_integration.permissions import Need, organization_checked

# The hooks through which a subclass could widen or skip the organisation check.
PROTECTED_HOOKS = frozenset(
    {
        "permission_classes",
        "get_permissions",
        "check_permissions",
        "check_object_permissions",
        "initial",
        "get_queryset",
        "filter_queryset",
        "get_object",
        "queryset",
        "get_object_by",
        "own_organization",
    }
)
DANGEROUS_PREFIX = "Dangerously"


class ResolvesOrganization(BasePermission):
    """Resolves the organisation once, through the access function, or refuses (404/403).

    * a URL with `slug`: that organisation, for its readers (`view.need`);
    * `?organization={slug}` (the portal-config admin preview): for its administrators;
    * neither: the organisation of the member linked to the login (403 when none).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        assert isinstance(view, OrganizationScopedAPIView)  # noqa: S101 -- set by the base only
        slug = view.kwargs.get("slug")
        if slug is not None:
            view.organization = organization_checked(user=request.user, slug=slug, need=view.need)
            return True
        if view.preview_parameters:
            given = [bool(request.query_params.get(name)) for name in view.preview_parameters]
            if any(given) and not all(given):
                raise ParseError(_("Pass both organization and member, or neither."))
            if all(given):
                view.organization = organization_checked(
                    user=request.user,
                    slug=request.query_params[view.preview_parameters[0]],
                    need=Need.ADMINISTER,
                )
                view.is_preview = True
                return True
        view.organization = view.own_organization(request)
        return True


class OrganizationScopedAPIView(generics.GenericAPIView):
    """Base of every app API view; `self.organization` is resolved and checked."""

    permission_classes = [IsAuthenticated, ResolvesOrganization]
    # Who may read through a /organizations/{slug}/… URL (the preview is always ADMINISTER).
    need: ClassVar[Need] = Need.READ
    # Query parameters of an admin preview: the organisation's slug first, then what
    # else the preview needs; all or none must be given. Empty: no preview.
    preview_parameters: ClassVar[tuple[str, ...]] = ()
    # ORM path from the queryset's model to Organization ("" for Organization itself).
    organization_lookup: ClassVar[str] = "organization"
    # Set (with a `Dangerously…` class name) only by a view that is deliberately unscoped.
    dangerously_unscoped: ClassVar[bool] = False
    not_found_message: ClassVar[Any] = _("Not found.")

    organization: Organization
    own_member: Member | None = None
    is_preview: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = sorted(PROTECTED_HOOKS & set(vars(cls)))
        if cls.dangerously_unscoped != cls.__name__.startswith(DANGEROUS_PREFIX):
            raise ImproperlyConfigured(
                f"{cls.__name__}: an unscoped API view sets dangerously_unscoped and is "
                f"named {DANGEROUS_PREFIX}…, both or neither."
            )
        if overridden and not cls.dangerously_unscoped:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides {', '.join(overridden)}; organisation scoping is "
                "decided in OrganizationScopedAPIView only. Supply rows through "
                "get_scoped_queryset() (filtered to self.organization by the base)."
            )

    # --- rows ---------------------------------------------------------------------------
    def get_scoped_queryset(self) -> QuerySet:
        """The view's rows before the organisation filter (subclasses override this)."""
        raise ImproperlyConfigured(f"{type(self).__name__} must define get_scoped_queryset()")

    def get_queryset(self) -> QuerySet:
        queryset = self.get_scoped_queryset()
        field = f"{self.organization_lookup}__exact" if self.organization_lookup else "pk"
        return queryset.filter(**{field: self.organization.pk})

    def get_object(self) -> Any:
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        return self.get_object_by(**{self.lookup_field: self.kwargs[lookup_url_kwarg]})

    def get_object_by(self, **lookup: Any) -> Any:
        """One row of this organisation, or 404 (another organisation's row is 'missing')."""
        obj = self.get_queryset().filter(**lookup).first()
        if obj is None:
            raise NotFound(self.not_found_message)
        return obj

    # --- the login's own organisation ---------------------------------------------------
    def own_organization(self, request: Request) -> Organization:
        """Without a slug: the member's own organisation (a login without one has none)."""
        member = member_get_for_user(user=request.user)
        if member is None:
            raise PermissionDenied(_("This login is not linked to a member."))
        self.own_member = member
        return member.organization
