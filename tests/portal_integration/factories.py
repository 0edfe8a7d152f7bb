"""Factories for the portal integration tests."""

import factory

from tests.factories import OrganizationFactory
from webhooks.services import webhook_source_create


class WebhookSourceFactory(factory.Factory):
    """A webhook source made through engineer A's service (the real code path)."""

    class Meta:
        model = dict

    organization = factory.SubFactory(OrganizationFactory)
    identifier = factory.Sequence(lambda n: f"source-{n}")

    @classmethod
    def _create(cls, model_class, *, organization, identifier):
        source, _secret = webhook_source_create(organization=organization, identifier=identifier)
        return source
