"""Webhook intake URLs."""

from django.urls import path

from webhooks.views import DynamicsWebhookView, WebhookHealthView

urlpatterns = [
    path("dynamics/", DynamicsWebhookView.as_view(), name="webhook-dynamics"),
    path("dynamics/health", WebhookHealthView.as_view(), name="webhook-dynamics-health"),
]
