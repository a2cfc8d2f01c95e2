"""Reports of a run: console, JSON, JUnit and the journal."""
