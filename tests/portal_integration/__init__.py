"""Tests of the portal integration configuration, onboarding and app API."""
