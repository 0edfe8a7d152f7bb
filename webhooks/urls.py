"""Webhook intake URLs."""

from django.urls import path

from webhooks.views import WebhookHealthView, dynamics_webhook

urlpatterns = [
    path("dynamics/", dynamics_webhook, name="webhook-dynamics"),
    path("dynamics/health", WebhookHealthView.as_view(), name="webhook-dynamics-health"),
]
