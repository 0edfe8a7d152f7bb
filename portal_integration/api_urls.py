"""App API (SPEC §7) URLs, mounted at /api/v1/."""

from django.urls import path

from portal_integration import api

urlpatterns = [
    path("portal-config/", api.PortalConfigAPIView.as_view(), name="api-portal-config"),
    path(
        "organizations/<slug:slug>/members/",
        api.MemberListAPIView.as_view(),
        name="api-organization-members",
    ),
    path(
        "organizations/<slug:slug>/members/<str:portal_member_id>/",
        api.MemberDetailAPIView.as_view(),
        name="api-organization-member",
    ),
    path(
        "organizations/<slug:slug>/sync-status/",
        api.SyncStatusAPIView.as_view(),
        name="api-organization-sync-status",
    ),
]
