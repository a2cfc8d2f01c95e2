"""Receiver fuzzing: schema-aware mutations of real payloads, shrunk failures written as scenarios."""

from emitter.fuzz.engine import Finding, FuzzReport, fuzz, reproducer

__all__ = ["Finding", "FuzzReport", "fuzz", "reproducer"]
