"""JSON Schemas (2020-12): scenario files for editors, and per-event payloads for receivers."""
