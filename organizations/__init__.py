"""Organisations, their members, roles, course enrollments and administrators."""
