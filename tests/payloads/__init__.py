"""Tests for emitter.payloads."""
