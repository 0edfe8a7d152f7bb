"""Template tags of the portal integration admin pages."""
