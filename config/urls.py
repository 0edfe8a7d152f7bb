"""Root URL configuration: admin, app API, webhook intake and health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import health
from monitoring.views import metrics_view

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("portal_integration.api_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
