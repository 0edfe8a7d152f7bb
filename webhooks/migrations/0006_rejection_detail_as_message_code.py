"""Rejection details become a message code plus parameters, rendered per reader.

Every old detail was the English text answered to the sender: the known ones map to
their code, any other is kept as the sender's answer (`webhooks.rejected.sender_detail`).
"""

from django.db import migrations, models

_KNOWN = {
    "The request could not be authenticated.": "webhooks.rejected.not_authenticated",
    "The body must be a JSON object.": "webhooks.rejected.not_object",
    "webhook-id contains control characters.": "webhooks.rejected.id_control_characters",
    "webhook-timestamp must be a Unix time in whole seconds.": "webhooks.rejected.timestamp_format",
    "The request could not be read as a webhook delivery.": "webhooks.rejected.not_a_delivery",
    "The body could not be read.": "webhooks.rejected.body_unreadable",
}


def detail_message(text: str) -> tuple[str, dict]:
    if not text:
        return "", {}
    if text in _KNOWN:
        return _KNOWN[text], {}
    return "webhooks.rejected.sender_detail", {"detail": text}


def _forward(apps, schema_editor):
    WebhookRejection = apps.get_model("webhooks", "WebhookRejection")
    batch = []
    rows = WebhookRejection.objects.exclude(detail="").only("pk", "detail").order_by()
    for rejection in rows.iterator(chunk_size=2000):
        rejection.detail_code, rejection.detail_params = detail_message(rejection.detail)
        batch.append(rejection)
        if len(batch) >= 2000:
            WebhookRejection.objects.bulk_update(batch, ["detail_code", "detail_params"])
            batch = []
    if batch:
        WebhookRejection.objects.bulk_update(batch, ["detail_code", "detail_params"])


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0005_rejection_self_test")]

    operations = [
        migrations.AddField(
            model_name="webhookrejection",
            name="detail_code",
            field=models.CharField(blank=True, max_length=60, verbose_name="detail code"),
        ),
        migrations.AddField(
            model_name="webhookrejection",
            name="detail_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="detail parameters"),
        ),
        migrations.RunPython(_forward, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="webhookrejection", name="detail"),
    ]
