"""Webhook intake URLs."""

from django.urls import path

from webhooks.views import DynamicsWebhookView

urlpatterns = [
    path("dynamics/", DynamicsWebhookView.as_view(), name="webhook-dynamics"),
]
