"""The webhook endpoint served past the middleware that exists for browsers."""

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse

from webhooks.views import dynamics_webhook

_WEBHOOK_URL_NAME = "webhook-dynamics"
# ROOT_URLCONF -> the endpoint's path_info under it (None: that URLconf has no endpoint).
_paths: dict[str, str | None] = {}


def _webhook_path_info() -> str | None:
    urlconf = settings.ROOT_URLCONF
    if urlconf not in _paths:
        try:
            path = reverse(_WEBHOOK_URL_NAME, urlconf=urlconf)
        except NoReverseMatch:
            _paths[urlconf] = None
        else:
            # reverse() includes the script prefix; path_info does not.
            _paths[urlconf] = "/" + path.removeprefix(get_script_prefix())
    return _paths[urlconf]


class WebhookIntakeMiddleware:
    """Hand requests for `POST /webhooks/dynamics/` straight to its view.

    Sits after SecurityMiddleware, HostileRequestMiddleware and CSPMiddleware, whose
    checks and headers the endpoint keeps. Everything after it serves people in a
    browser — static files, sessions, locale, CSRF (the view is exempt), authentication,
    messages, history, admin error pages, login lockouts — and the endpoint, which is
    authenticated by its signature alone and answers in English, uses none of it. Passing
    it by (and URL resolution with it) saves the intake about as much Python per request
    as verifying and normalising the payload costs. The two headers the skipped
    middleware would have added to this response are added here. Without this
    middleware the same view is reached through the URLconf, with the same answers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != _webhook_path_info():
            return self.get_response(request)
        response = dynamics_webhook(request)
        # XFrameOptionsMiddleware's and CommonMiddleware's share of the answer.
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS.upper())
        response.headers.setdefault("Content-Length", str(len(response.content)))
        return response
