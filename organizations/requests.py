"""Typed requests: what admin and API views may assume about `request.user`.

The admin (`AdminSite.admin_view`) and the API base view (`IsAuthenticated`) only call a
view for a logged-in user, so those views annotate `request` with these types and
mypy checks `request.user` as a `User`, not `User | AnonymousUser`.
"""

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request


class AuthenticatedHttpRequest(HttpRequest):
    user: User


if TYPE_CHECKING:

    class AuthenticatedRequest(Request):
        user: User

else:
    AuthenticatedRequest = Request
