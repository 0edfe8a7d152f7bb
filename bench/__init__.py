"""Benchmarks run against the real stack (not part of pytest)."""
