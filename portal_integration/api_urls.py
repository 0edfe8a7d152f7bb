"""App API (SPEC §7) URLs."""

urlpatterns: list = []
