"""Tests for emitter.scenarios."""
