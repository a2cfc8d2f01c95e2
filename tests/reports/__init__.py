"""Tests for emitter.reports."""
