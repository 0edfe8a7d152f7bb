"""Error pages and e-mailed reports that never show a secret, even with DEBUG on.

Django's own filter hides settings by name and the locals of functions marked
`sensitive_variables`, but only while DEBUG is off: the debug page under `make run`
showed a source's plaintext secrets in the frame locals. This filter is always on, and
hides, in every frame, a local whose *name* says it holds a credential, and any value
whose text contains a webhook secret (`whsec_…`), wherever it is nested (a dataclass
with a `secret` field, a list of secrets, a dict of headers).
"""

import re

from django.views.debug import SafeExceptionReporterFilter

# Names of locals, settings, POST fields and headers that carry credentials.
_SENSITIVE_NAME = re.compile(
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CIPHER|CREDENTIAL|AUTH|BROKER|LOCATION"
    r"|DATABASE_URL|CACHE_URL|PLAINTEXT",
    flags=re.IGNORECASE,
)
# A webhook secret in any text (Standard Webhooks form).
_SECRET_VALUE = re.compile(r"whsec_[A-Za-z0-9+/=_-]{8,}")


class SecretSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = _SENSITIVE_NAME

    def is_active(self, request) -> bool:
        return True  # also with DEBUG on: that is where the page is shown

    def _cleansed(self, name, value):
        if isinstance(name, str) and _SENSITIVE_NAME.search(name):
            return self.cleansed_substitute
        if isinstance(value, dict):
            return {key: self._cleansed(key, item) for key, item in value.items()}
        try:
            text = value if isinstance(value, str) else repr(value)
        except Exception:  # noqa: BLE001 - an unprintable value is shown as hidden
            return self.cleansed_substitute
        if _SECRET_VALUE.search(text):
            return self.cleansed_substitute
        return value

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleansed(name, value)) for name, value in variables]

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in list(cleansed.keys()):
            values = parameters.getlist(name) if hasattr(parameters, "getlist") else []
            if _SENSITIVE_NAME.search(name) or any(_SECRET_VALUE.search(str(v)) for v in values):
                cleansed[name] = self.cleansed_substitute
        return cleansed
