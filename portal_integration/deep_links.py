"""Deep-link templates (SPEC §3): validation at save time and filling in at resolution.

Pure functions over strings and hosts; the database lookups live in services/selectors.
"""

import re
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDERS = ("member_id", "organization", "source", "locale", "feature")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Control characters and spaces never belong in a URL; `<>"` would break out of HTML.
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f<>\"\\]")


def deep_link_validate(*, url_template: str, allowed_hosts: list[str]) -> None:
    """Refuse anything but an https URL to an allowed host with known placeholders.

    Raises ValidationError with one plain message (the caller attaches it to its field).
    """
    unknown = sorted(
        {name for name in _PLACEHOLDER.findall(url_template) if name not in PLACEHOLDERS}
    )
    if unknown:
        raise ValidationError(
            _("Unknown placeholder %(names)s. Use only %(known)s.")
            % {
                "names": ", ".join(f"{{{name}}}" for name in unknown),
                "known": " ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            },
            code="unknown_placeholder",
        )
    if _FORBIDDEN_CHARACTERS.search(url_template):
        raise ValidationError(
            _("The link contains spaces or characters that are not allowed in a URL."),
            code="invalid_characters",
        )
    # Check the URL's shape with harmless stand-ins, so a placeholder cannot hide a host.
    parts = urlsplit(_PLACEHOLDER.sub("x", url_template))
    if parts.scheme.lower() != "https":
        raise ValidationError(
            _("The link must start with https:// (got %(scheme)s).")
            % {"scheme": f"{parts.scheme}:" if parts.scheme else _("no scheme")},
            code="not_https",
        )
    if not parts.hostname or "@" in parts.netloc or "{" in urlsplit(url_template).netloc:
        raise ValidationError(
            _("The link must name the Min Side host directly, e.g. https://minside.hlf.no/…"),
            code="invalid_host",
        )
    if not host_allowed(netloc=parts.netloc, allowed_hosts=allowed_hosts):
        if not allowed_hosts:
            raise ValidationError(
                _("This organisation has no allowed portal hosts yet; add one first."),
                code="no_allowed_hosts",
            )
        raise ValidationError(
            _("%(host)s is not one of this organisation's allowed portal hosts (%(hosts)s).")
            % {"host": parts.netloc, "hosts": ", ".join(allowed_hosts)},
            code="host_not_allowed",
        )


def host_allowed(*, netloc: str, allowed_hosts: list[str]) -> bool:
    """Exact host match; a port must be listed with the host (":443" is the default)."""
    netloc = netloc.lower().removesuffix(":443")
    return netloc in allowed_hosts


def deep_link_fill(*, url_template: str, values: dict[str, str]) -> str:
    """Fill in the placeholders, each value URL-encoded (spaces, `&`, non-ASCII).

    A character UTF-8 cannot encode (a lone surrogate) becomes `?`, encoded: the link
    still opens, and nothing unencoded ever reaches the URL.
    """
    return _PLACEHOLDER.sub(
        lambda match: quote(str(values.get(match.group(1), "")), safe="", errors="replace"),
        url_template,
    )
