"""The OpenAPI schema documents the webhook endpoint, its headers and every response."""

from drf_spectacular.generators import SchemaGenerator


def test_schema_documents_the_webhook_endpoint():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/webhooks/dynamics/"]["post"]

    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
    assert {"200", "202", "400", "401", "413", "415", "503"} <= set(operation["responses"])
    assert "application/json" in operation["requestBody"]["content"]
    assert operation.get("security") in ([], [{}], None)
