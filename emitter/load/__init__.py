"""Load mode: the open-model engine, its statistics and profile."""
