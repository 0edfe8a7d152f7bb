"""The demo seed is idempotent and prints the logins."""

from io import StringIO

import pytest
from django.core.management import call_command

from organizations.models import CourseEnrollment, Member, Organization


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data():
    first = StringIO()
    call_command("seed_demo", stdout=first)
    counts = (Organization.objects.count(), Member.objects.count(), CourseEnrollment.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert counts == (
        Organization.objects.count(),
        Member.objects.count(),
        CourseEnrollment.objects.count(),
    )
    assert counts[0] == 2
    assert "admin / admin" in first.getvalue()
    assert "orgadmin / orgadmin" in first.getvalue()
