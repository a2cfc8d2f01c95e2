"""Hardening: hostile input, signals, misbehaving receivers and hostile clients."""
