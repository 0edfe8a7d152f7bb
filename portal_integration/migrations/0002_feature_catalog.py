"""Load the feature catalog and give every existing organisation its configuration."""

from django.db import migrations


def reconcile(apps, schema_editor):
    from portal_integration.services import feature_catalog_reconcile

    feature_catalog_reconcile(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("portal_integration", "0001_initial"),
        ("organizations", "0001_initial"),
    ]

    operations = [migrations.RunPython(reconcile, migrations.RunPython.noop)]
