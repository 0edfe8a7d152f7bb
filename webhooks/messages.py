"""Every message the webhook intake stores: routing failures, rejection details, self-tests.

Stored as a code plus parameters and rendered in the reader's language
(organizations.messages). To add one: add a `MessageCode` here, produce it with
`message("webhooks.…", **params)`, run makemessages and translate.
"""

from django.utils.translation import gettext_lazy as _

from organizations.messages import MessageCode, catalogue, tag_register

ONBOARD_ORGANIZATION = _(
    "Onboard the organisation (or add its routing value to the source), then reprocess the event."
)
SENDER_MUST_FIX = _(
    "Min Side sent something the Likeperson app cannot use: ask whoever maintains the "
    "Min Side integration to correct it. Reprocessing will not help."
)


def _rejection_reason_label(value) -> str:
    from webhooks.models import WebhookRejection

    try:
        return str(WebhookRejection.Reason(value).label)
    except ValueError:
        return str(value)


# A rejection code (`{"rejection_reason": "source_disabled"}`) reads as its label.
tag_register("rejection_reason", _rejection_reason_label)


MESSAGES = catalogue(
    # --- routing a shared source's event (SPEC §4.4) --------------------------------------
    MessageCode(
        "webhooks.unroutable.no_organization_field",
        _(
            "the envelope names no data.organization, which source %(source)s "
            "needs to choose the organisation"
        ),
        retryable=False,
        advice=SENDER_MUST_FIX,
    ),
    MessageCode(
        "webhooks.unroutable.unknown_organization",
        _("data.organization %(value)s is no organisation of source %(source)s"),
        retryable=True,
        advice=ONBOARD_ORGANIZATION,
    ),
    MessageCode(
        "webhooks.unroutable.member_unknown",
        _(
            "enrollment of member %(member)s, who is not known in any organisation "
            "of source %(source)s"
        ),
        retryable=True,
        advice=_("Once Min Side has sent the member, reprocess this event."),
    ),
    MessageCode(
        "webhooks.member_unknown",
        _("member %(member)s is not known in any organisation of source %(source)s"),
        retryable=True,
        advice=_("Once Min Side has sent the member, reprocess this event."),
    ),
    MessageCode(
        "webhooks.unroutable.type",
        _("%(type)s cannot be routed to an organisation of source %(source)s"),
        retryable=False,
        advice=SENDER_MUST_FIX,
    ),
    MessageCode(
        "webhooks.unroutable.no_routing_value",
        _("contact %(member)s has no %(attribute)s, which source %(source)s routes by"),
        retryable=False,
        advice=_(
            "Fill in %(attribute)s on the contact in Min Side: the change is then sent "
            "again. Reprocessing here will not help until then."
        ),
    ),
    MessageCode(
        "webhooks.unroutable.unknown_account",
        _(
            "contact %(member)s belongs to account %(account)s, which is no organisation "
            "of source %(source)s"
        ),
        retryable=True,
        advice=ONBOARD_ORGANIZATION,
    ),
    # --- stored failed at intake ------------------------------------------------------------
    MessageCode(
        "webhooks.normalization_failed",
        _("Min Side's payload could not be read: %(detail)s"),
        retryable=False,
        advice=SENDER_MUST_FIX,
    ),
    # --- rejection details ------------------------------------------------------------------
    # The English text of each is also the `detail` answered to the sender (SPEC §4.3).
    MessageCode("webhooks.rejected.none", _("no detail")),
    MessageCode(
        "webhooks.rejected.not_authenticated", _("The request could not be authenticated.")
    ),
    MessageCode(
        "webhooks.rejected.too_many_headers",
        _("The request has %(count)d headers; at most %(max)d are accepted."),
    ),
    MessageCode("webhooks.rejected.header_too_long", _("A header is longer than %(max)d bytes.")),
    MessageCode("webhooks.rejected.not_object", _("The body must be a JSON object.")),
    MessageCode("webhooks.rejected.missing_headers", _("Missing header(s): %(names)s.")),
    MessageCode(
        "webhooks.rejected.id_too_long", _("webhook-id is longer than %(max)d characters.")
    ),
    MessageCode(
        "webhooks.rejected.id_control_characters", _("webhook-id contains control characters.")
    ),
    MessageCode(
        "webhooks.rejected.too_many_signatures",
        _("webhook-signature lists more than %(max)d signatures."),
    ),
    MessageCode(
        "webhooks.rejected.timestamp_format",
        _("webhook-timestamp must be a Unix time in whole seconds."),
    ),
    MessageCode(
        "webhooks.rejected.not_a_delivery",
        _("The request could not be read as a webhook delivery."),
    ),
    MessageCode("webhooks.rejected.media_type", _("Send the body as %(type)s.")),
    MessageCode("webhooks.rejected.body_unreadable", _("The body could not be read.")),
    MessageCode("webhooks.rejected.too_large", _("The body is larger than %(limit)d bytes.")),
    # The sender's own answer (SPEC §4.3: `detail` is for the sender, in English).
    MessageCode("webhooks.rejected.sender_detail", _("Answered to the sender: %(detail)s")),
    # --- the signed test payload ------------------------------------------------------------
    MessageCode("webhooks.self_test.ok", _("verification succeeded")),
    MessageCode("webhooks.self_test.refused", _("refused: %(reason)s")),
    MessageCode("webhooks.self_test.unexpected", _("unexpected answer")),
    MessageCode("webhooks.self_test.no_secret", _("no active secret to sign with")),
    MessageCode("webhooks.self_test.no_answer", _("no answer: %(error)s")),
)
