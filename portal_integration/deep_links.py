"""Deep-link templates (SPEC §3): validation at save time and filling in at resolution.

Pure functions over strings and hosts; the database lookups live in services/selectors.
One parser (`deep_link_parse`) reads a template into literal text and placeholders; the
validation, the URL-shape check and the filling in all work from what it returns, so a
template that validates is exactly the template that is filled in.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDERS = ("member_id", "organization", "source", "locale", "feature")
# Control characters and spaces never belong in a URL; `<>"` would break out of HTML.
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f<>\"\\]")


@dataclass(frozen=True)
class Placeholder:
    name: str
    position: int  # 1-based character position of its `{`, as people count


def deep_link_parse(url_template: str) -> list[str | Placeholder]:
    """Split a template into literal text and placeholders.

    Raises ValidationError (code `unbalanced_braces`) naming the position of a `{` that
    is never closed, a `}` that was never opened or a `{` inside a placeholder: such a
    link would otherwise reach members with the braces as literal text.
    """
    parts: list[str | Placeholder] = []
    literal_start = 0
    index = 0
    while index < len(url_template):
        character = url_template[index]
        if character == "}":
            raise _brace_error(_("The “}” at character %(position)d has no “{” before it."), index)
        if character == "{":
            end = index + 1
            while end < len(url_template) and url_template[end] not in "{}":
                end += 1
            if end == len(url_template):
                raise _brace_error(
                    _("The “{” at character %(position)d is never closed with “}”."), index
                )
            if url_template[end] == "{":
                raise _brace_error(
                    _("The “{” at character %(position)d is not closed before the next “{”."),
                    index,
                )
            if index > literal_start:
                parts.append(url_template[literal_start:index])
            parts.append(Placeholder(name=url_template[index + 1 : end], position=index + 1))
            index = end + 1
            literal_start = index
            continue
        index += 1
    if literal_start < len(url_template):
        parts.append(url_template[literal_start:])
    return parts


def _brace_error(message: str, index: int) -> ValidationError:
    return ValidationError(
        message % {"position": index + 1} + " " + _("Placeholders are written like {member_id}."),
        code="unbalanced_braces",
    )


def deep_link_validate(*, url_template: str, allowed_hosts: list[str]) -> None:
    """Refuse anything but an https URL to an allowed host with known placeholders.

    Raises ValidationError with one plain message (the caller attaches it to its field).
    """
    parts = deep_link_parse(url_template)
    unknown = sorted(
        {
            part.name
            for part in parts
            if isinstance(part, Placeholder) and part.name not in PLACEHOLDERS
        }
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
    parts_url = urlsplit(_join(parts, lambda placeholder: "x"))
    if parts_url.scheme.lower() != "https":
        raise ValidationError(
            _("The link must start with https:// (got %(scheme)s).")
            % {"scheme": f"{parts_url.scheme}:" if parts_url.scheme else _("no scheme")},
            code="not_https",
        )
    if not parts_url.hostname or "@" in parts_url.netloc or "{" in urlsplit(url_template).netloc:
        raise ValidationError(
            _("The link must name the Min Side host directly, e.g. https://minside.hlf.no/…"),
            code="invalid_host",
        )
    if not host_allowed(netloc=parts_url.netloc, allowed_hosts=allowed_hosts):
        if not allowed_hosts:
            raise ValidationError(
                _("This organisation has no allowed portal hosts yet; add one first."),
                code="no_allowed_hosts",
            )
        raise ValidationError(
            _("%(host)s is not one of this organisation's allowed portal hosts (%(hosts)s).")
            % {"host": parts_url.netloc, "hosts": ", ".join(allowed_hosts)},
            code="host_not_allowed",
        )


def host_allowed(*, netloc: str, allowed_hosts: list[str]) -> bool:
    """Exact host match; a port must be listed with the host (":443" is the default)."""
    netloc = netloc.lower().removesuffix(":443")
    return netloc in allowed_hosts


def _join(parts: list[str | Placeholder], fill) -> str:
    return "".join(fill(part) if isinstance(part, Placeholder) else part for part in parts)


def deep_link_fill(*, url_template: str, values: dict[str, str]) -> str:
    """Fill in the placeholders, each value URL-encoded (spaces, `&`, non-ASCII).

    A template the parser refuses (saved before braces were checked) resolves to ""
    rather than reaching members with literal braces; the caller falls back to the
    organisation's base URL. A character UTF-8 cannot encode (a lone surrogate) becomes
    `?`, encoded: the link still opens, and nothing unencoded ever reaches the URL.
    """
    try:
        parts = deep_link_parse(url_template)
    except ValidationError:
        return ""
    return _join(
        parts,
        lambda placeholder: quote(str(values.get(placeholder.name, "")), safe="", errors="replace"),
    )


def portal_link_problem(
    *, url_template: str, base_url: str, allowed_hosts: list[str]
) -> str | None:
    """Why a portal-owned feature would leave members without a working link, or None.

    A member is sent to the filled-in deep link, else to the organisation's Min Side
    base URL; one of them must be a valid https link.
    """
    if url_template:
        try:
            deep_link_validate(url_template=url_template, allowed_hosts=allowed_hosts)
        except ValidationError as error:
            return error.messages[0]
        return None
    if not base_url:
        return _(
            "Min Side would show members a card with no button: add a deep link for this "
            "feature, or have a global administrator set the organisation's Min Side base URL."
        )
    if urlsplit(base_url).scheme.lower() != "https" or not urlsplit(base_url).hostname:
        return _(
            "The organisation's Min Side base URL %(url)s is not an https link: add a deep "
            "link for this feature, or have a global administrator correct the base URL."
        ) % {"url": base_url}
    return None
