"""Recorded or captured callback bodies -> a scenario that renders them again (`vod-emitter import`)."""

from emitter.importer.build import ImportResult, import_bodies, import_files
from emitter.importer.read import Recorded, read_inputs

__all__ = ["ImportResult", "Recorded", "import_bodies", "import_files", "read_inputs"]
