"""Tests for emitter.load."""
