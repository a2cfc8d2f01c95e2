"""The built-in receiver: records, checks and misbehaves on purpose."""
