"""Payloads: the event catalog, providers of realistic values, rendering, paths and conformance."""
