"""Tests for emitter.delivery."""
