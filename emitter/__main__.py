"""Entry point for `python -m emitter`."""

from emitter.cli import main

main()
