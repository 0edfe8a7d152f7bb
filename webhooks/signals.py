"""Django signals the webhook intake sends (metrics subscribe; webhooks imports no subscriber)."""

from django.dispatch import Signal

# Sent once per request answered by the endpoint: `result` = accepted | duplicate |
# rejected, `reason` = the §4.3 code of a rejection (else None), `is_self_test`.
webhook_request_handled = Signal()
