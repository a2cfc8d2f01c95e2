"""Scenario files: loading and validating them, and planning a run's events."""
