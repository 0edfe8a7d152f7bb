"""Webhook intake URLs."""

urlpatterns: list = []
