"""Tests of emitter/cli."""
