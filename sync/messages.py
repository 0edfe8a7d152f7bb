"""Every message the sync inbox stores as an event's outcome: code, text, retryable, advice.

Outcomes are stored as a code plus parameters (`InboundEvent.outcome_code`,
`outcome_params`) and rendered in the reader's language (organizations.messages).
To add one: add a `MessageCode` here (failures say `retryable` and who must act in
`advice`), produce it with `message("sync.…", **params)`, run makemessages and translate.
"""

from django.utils.translation import gettext_lazy as _

from organizations.messages import MessageCode, catalogue

# What helps, said once per kind of failure (in HLF's words: who must act, and whether
# reprocessing here can help).
CORRECT_IN_MIN_SIDE = _(
    "Correct it in Min Side: the change is then sent again. Reprocessing here will not "
    "help until the source is corrected."
)
CORRECT_ROLE = _(
    "Correct the role in Min Side: the change is then sent again. Reprocessing here will "
    "not help until the role is corrected."
)
SENDER_MUST_FIX = _(
    "Min Side sent something the Likeperson app cannot read: ask whoever maintains the "
    "Min Side integration to correct it. Reprocessing will not help."
)
WAIT_FOR_MEMBER = _(
    "Check in Min Side that the member belongs to this organisation. Once Min Side has "
    "sent the member, reprocess this event."
)
WAIT_FOR_ENROLLMENT = _(
    "Check in Min Side that the enrollment exists. Once Min Side has sent it, reprocess this event."
)
TRY_AGAIN_LATER = _(
    "A temporary problem (the database could not be reached). Reprocess the event once "
    "the service runs normally again."
)
DEVELOPERS_MUST_FIX = _(
    "An error in the Likeperson app: report it to its developers. Reprocessing will not "
    "help until it is fixed."
)
WORKER_STOPPED = _(
    "The worker stopped every time it applied this event: ask the operators to look at "
    "the worker's logs before reprocessing."
)
ONBOARD_ORGANIZATION = _(
    "Onboard the organisation (or add its routing value to the source), then reprocess the event."
)


def _invalid(code: str, text, advice=CORRECT_IN_MIN_SIDE) -> MessageCode:
    return MessageCode(code, text, retryable=False, advice=advice)


MESSAGES = catalogue(
    # --- parts --------------------------------------------------------------------------
    # The outcomes of a payload with several events, or of one event's several steps.
    MessageCode("sync.parts", "%(parts)s"),
    MessageCode("sync.subject.member", _("Member %(id)s")),
    MessageCode("sync.subject.member_unnamed", _("Member")),
    MessageCode("sync.subject.enrollment", _("Enrollment %(id)s")),
    MessageCode("sync.subject.enrollment_unnamed", _("Enrollment")),
    MessageCode("sync.subject.enrollment_of_member", _("Enrollment %(id)s (member %(member)s)")),
    # --- applied ------------------------------------------------------------------------
    MessageCode("sync.member_created", _("%(subject)s: created (%(name)s, role %(role)s)")),
    MessageCode("sync.no_change", _("%(subject)s: no change (already up to date)")),
    MessageCode("sync.updated", _("%(subject)s: updated %(fields)s")),
    MessageCode(
        "sync.stale",
        _(
            "%(subject)s: stale %(type)s from %(occurred)s ignored; a newer change from "
            "%(applied)s is already applied"
        ),
    ),
    MessageCode("sync.role_unchanged", _("%(subject)s: role already %(role)s")),
    MessageCode("sync.role_changed", _("%(subject)s: role changed from %(old)s to %(new)s")),
    MessageCode("sync.deactivated", _("%(subject)s: deactivated")),
    MessageCode("sync.already_inactive", _("%(subject)s: already inactive")),
    MessageCode("sync.reason", _("reason: %(reason)s")),
    MessageCode(
        "sync.login_admin_untouched", _("login user is an administrator and was left as it is")
    ),
    MessageCode("sync.login_enabled", _("login user enabled")),
    MessageCode("sync.login_disabled", _("login user disabled")),
    MessageCode("sync.token_revoked", _("API token revoked")),
    MessageCode("sync.reactivated", _("%(subject)s: reactivated")),
    MessageCode("sync.already_active", _("%(subject)s: already active")),
    MessageCode(
        "sync.moved_created",
        _("%(subject)s: moved here from another organisation; created (%(name)s)"),
    ),
    MessageCode(
        "sync.moved_back",
        _("%(subject)s: moved back here; the earlier record was reactivated (%(name)s)"),
    ),
    MessageCode("sync.moved_already_here", _("%(subject)s: already here; updated (%(name)s)")),
    MessageCode("sync.moved_left_previous", _("deactivated in the previous organisation")),
    MessageCode(
        "sync.enrollment_created",
        _("%(subject)s: created (course %(course)s, status %(status)s)"),
    ),
    MessageCode("sync.test_event", _("test event")),
    MessageCode("sync.unsupported_type", _("unsupported event type %(type)s")),
    # --- waiting and retrying -----------------------------------------------------------
    MessageCode("sync.waiting", _("Waiting: %(reason)s yet; trying again in %(seconds)d s")),
    MessageCode(
        "sync.temporary_error", _("Temporary error (%(error)s); trying again in %(seconds)d s")
    ),
    MessageCode("sync.reprocess_requested", _("Reprocessing requested by %(user)s")),
    MessageCode("sync.no_such_event", _("no such event")),
    MessageCode("sync.superseded", _("taken over by another attempt")),
    # --- failures -----------------------------------------------------------------------
    MessageCode(
        "sync.member_unknown",
        _("member %(id)s is not known in %(organization)s"),
        retryable=True,
        advice=WAIT_FOR_MEMBER,
    ),
    MessageCode(
        "sync.enrollment_unknown",
        _("enrollment %(id)s is not known in %(organization)s"),
        retryable=True,
        advice=WAIT_FOR_ENROLLMENT,
    ),
    MessageCode(
        "sync.gave_up",
        _("Gave up after %(attempts)d attempts: %(error)s"),
        retryable=True,
        advice=TRY_AGAIN_LATER,
    ),
    MessageCode(
        "sync.worker_stopped",
        _("Gave up after %(attempts)d attempts: the worker stopped every time while applying it"),
        retryable=False,
        advice=WORKER_STOPPED,
    ),
    MessageCode(
        "sync.unexpected_error",
        _("Could not be applied (%(error)s)"),
        retryable=False,
        advice=DEVELOPERS_MUST_FIX,
    ),
    _invalid("sync.field_missing", _("%(subject)s: the event has no %(field)s")),
    _invalid(
        "sync.field_unstorable",
        _(
            "%(subject)s: %(field)s contains characters that cannot be stored "
            "(NUL or a lone surrogate)"
        ),
        SENDER_MUST_FIX,
    ),
    _invalid(
        "sync.id_too_long",
        _("%(subject)s: %(field)s is %(length)d characters long; at most %(max)d fit"),
        SENDER_MUST_FIX,
    ),
    _invalid("sync.not_text", _("%(subject)s: %(field)s must be text, not %(value)s")),
    _invalid("sync.too_long", _("%(subject)s: %(field)s is longer than %(max)d characters")),
    _invalid("sync.email_invalid", _("%(subject)s: the e-mail address %(value)s is not valid")),
    _invalid("sync.date_invalid", _("%(subject)s: %(field)s %(value)s is not a date (YYYY-MM-DD)")),
    _invalid(
        "sync.role_invalid",
        _(
            "%(subject)s: Min Side sent the role %(value)s, which the Likeperson app does not "
            "have (it knows %(choices)s)"
        ),
        CORRECT_ROLE,
    ),
    _invalid(
        "sync.choice_invalid", _("%(subject)s: %(field)s %(value)s is not one of %(choices)s")
    ),
    _invalid(
        "sync.organization_ids_invalid",
        _("%(subject)s: %(field)s must be a list of organisation ids"),
        SENDER_MUST_FIX,
    ),
    _invalid(
        "sync.database_refused",
        _("A value could not be stored: the database refused it (%(error)s)"),
        SENDER_MUST_FIX,
    ),
    _invalid("sync.no_events", _("the payload holds no events to apply"), DEVELOPERS_MUST_FIX),
    _invalid(
        "sync.events_unreadable",
        _("the stored events cannot be read: %(detail)s"),
        DEVELOPERS_MUST_FIX,
    ),
    _invalid("sync.data_not_object", _("the event's data is not an object"), SENDER_MUST_FIX),
    # --- routing (a shared source's event, SPEC §4.4) -------------------------------------
    MessageCode(
        "sync.source_gone",
        _("its source no longer exists"),
        retryable=False,
        advice=_("Onboard the source again before reprocessing."),
    ),
    MessageCode(
        "sync.no_matching_organization",
        _("no organisation of its source matches it"),
        retryable=True,
        advice=_(
            "Onboard the organisation (or add its routing value to the source), "
            "then reprocess the event."
        ),
    ),
)
