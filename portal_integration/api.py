"""App API views (SPEC §7): thin wrappers around the selectors."""

import hashlib
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from organizations.models import Member
from organizations.requests import AuthenticatedRequest
from organizations.selectors import (
    member_list_for_organization,
)
from portal_integration.api_scoping import OrganizationScopedAPIView
from portal_integration.catalog import catalog_features
from portal_integration.selectors import (
    locale_normalize,
    portal_config_for_member,
    portal_configuration_stamp,
)
from portal_integration.serializers import (
    MemberSerializer,
    PortalConfigSerializer,
    SyncStatusSerializer,
)
from sync.selectors import sync_status_for_organization

RECENT_EVENTS = 20


# --- portal-config ----------------------------------------------------------------------


def portal_config_etag(
    *, organization, version: int, source_identifier: str, member_id: int, locale: str
) -> str:
    # Everything the body depends on: the configuration version, the values the deep
    # links are filled with ({organization}, {source}, the base-URL fallback) and the
    # catalog (a release that renames a feature changes the body).
    with translation.override(None):  # the source names, whatever the request language
        catalog = ",".join(f"{entry.key}={entry.name!s}" for entry in catalog_features())
    raw = "\n".join(
        str(part)
        for part in (
            organization.id,
            organization.slug,
            organization.portal_base_url,
            source_identifier,
            version,
            member_id,
            locale,
            catalog,
        )
    )
    return quote_etag(hashlib.sha256(raw.encode()).hexdigest()[:32])


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    candidates = parse_etags(header)
    return "*" in candidates or any(tag.removeprefix("W/") == etag for tag in candidates)


class PortalConfigAPIView(OrganizationScopedAPIView):
    """The organisation's configuration as one member sees it in the app.

    Every catalog feature with its owner; portal-owned ones carry the `handoff_url`
    the app opens instead. Send the last `ETag` as `If-None-Match` to get a 304.
    """

    # The admin preview names the organisation (checked for its administrators by the
    # base view's access function) and a member of it.
    preview_parameters = ("organization", "member")
    not_found_message = _("No such member in this organisation.")

    def get_scoped_queryset(self) -> QuerySet[Member]:
        return Member.objects.select_related("organization")

    @extend_schema(
        operation_id="portal_config",
        parameters=[
            OpenApiParameter(
                "organization", str, description="Admin preview: the organisation's slug."
            ),
            OpenApiParameter(
                "member", str, description="Admin preview: the member's portal_member_id."
            ),
            OpenApiParameter("locale", str, description="nb or en; default: Accept-Language."),
            OpenApiParameter(
                "If-None-Match", str, OpenApiParameter.HEADER, description="A previous ETag."
            ),
        ],
        responses={
            200: PortalConfigSerializer,
            304: OpenApiResponse(description="Not modified since the given ETag."),
            400: OpenApiResponse(description="organization and member must come together."),
            403: OpenApiResponse(description="Deactivated member, or no member linked."),
            404: OpenApiResponse(description="Unknown organisation or member."),
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        member = self._member(request)
        organization = self.organization
        locale = locale_normalize(request.query_params.get("locale") or request.LANGUAGE_CODE)
        version, source_identifier = portal_configuration_stamp(organization=organization)
        etag = portal_config_etag(
            organization=organization,
            version=version,
            source_identifier=source_identifier,
            member_id=member.id,
            locale=locale,
        )
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            # Nothing changed: answer without building the body.
            return self._with_cache_headers(Response(status=status.HTTP_304_NOT_MODIFIED), etag)
        view = portal_config_for_member(
            organization=organization, member=member, locale=locale, version=version
        )
        return self._with_cache_headers(Response(PortalConfigSerializer(view).data), etag)

    def _member(self, request: AuthenticatedRequest) -> Member:
        if self.is_preview:
            # Within the checked organisation only: another one's member id is a 404.
            member = self.get_object_by(portal_member_id=request.query_params["member"])
        else:
            assert self.own_member is not None  # noqa: S101 -- set with the organisation
            member = self.own_member
        if not member.is_active:
            raise PermissionDenied(_("This membership is deactivated."))
        if not self.organization.is_active:
            raise PermissionDenied(_("This organisation is not active."))
        return member

    @staticmethod
    def _with_cache_headers(response: Response, etag: str) -> Response:
        response["ETag"] = etag
        # Always revalidate: a saved change must reach the app on its next request.
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Authorization, Cookie, Accept-Language"
        return response


# --- organisation endpoints -----------------------------------------------------------


class MemberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


ACTIVE_PARAMETER = OpenApiParameter(
    "active", OpenApiTypes.BOOL, description="true: active members only; false: inactive only."
)


class MemberListAPIView(OrganizationScopedAPIView, generics.ListAPIView):
    """The organisation's members with their course enrollments, paginated.

    For coordinators and organisation administrators of that organisation, and
    global administrators.
    """

    serializer_class = MemberSerializer
    pagination_class = MemberPagination

    @extend_schema(operation_id="organization_members_list", parameters=[ACTIVE_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Request, not AuthenticatedRequest: ListAPIView.get's signature (only delegated).
        return super().get(request, *args, **kwargs)

    def get_scoped_queryset(self) -> QuerySet[Member]:
        raw = self.request.query_params.get("active")
        flags = {None: None, "true": True, "false": False}
        if raw not in flags:
            raise ParseError(_("active must be true or false."))
        return member_list_for_organization(organization=self.organization, active=flags[raw])


class MemberDetailAPIView(OrganizationScopedAPIView):
    """One member of the organisation, by Min Side member id, with enrollments."""

    serializer_class = MemberSerializer
    lookup_field = "portal_member_id"
    not_found_message = _("No such member in this organisation.")

    def get_scoped_queryset(self) -> QuerySet[Member]:
        return member_list_for_organization(organization=self.organization)

    @extend_schema(operation_id="organization_member_detail", responses={200: MemberSerializer})
    def get(self, request: AuthenticatedRequest, slug: str, portal_member_id: str) -> Response:
        return Response(MemberSerializer(self.get_object()).data)


class SyncStatusAPIView(OrganizationScopedAPIView):
    """How current the organisation's data is: the sync figures and 20 recent events."""

    serializer_class = SyncStatusSerializer

    @extend_schema(operation_id="organization_sync_status", responses={200: SyncStatusSerializer})
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        # The figures of the checked organisation only (sync_status_for_organization).
        figures = sync_status_for_organization(organization=self.organization)
        figures["recent_events"] = figures["recent_events"][:RECENT_EVENTS]
        return Response(SyncStatusSerializer(figures).data)
