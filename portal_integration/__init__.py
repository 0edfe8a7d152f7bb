"""Per-organisation portal configuration: feature ownership, deep links, onboarding, app API."""
