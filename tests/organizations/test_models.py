"""Model-level rules of the membership state."""

import pytest
from django.core.exceptions import ValidationError


def test_min_side_base_url_must_be_https(org_a):
    # Members are sent to it when a portal-owned feature has no deep link.
    org_a.portal_base_url = "http://minside.hlf.no/"
    with pytest.raises(ValidationError, match="https"):
        org_a.full_clean()


def test_allowed_hosts_are_one_per_line(org_a):
    org_a.allowed_portal_hosts = "minside.hlf.no\nMinSide.Example.no"
    org_a.full_clean()
    assert org_a.allowed_hosts == ["minside.hlf.no", "minside.example.no"]

    org_a.allowed_portal_hosts = "https://minside.hlf.no/path"
    with pytest.raises(ValidationError):
        org_a.full_clean()
