"""Benchmarks (not tests): `python -m tests.benchmarks` runs the suite and prints a table."""
