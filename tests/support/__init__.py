"""Harness code only the tests use (local Prometheus/Alertmanager stacks, fixtures); it does not ship in the wheel."""
