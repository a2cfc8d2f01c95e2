"""Files a user names as input, read within a limit: never a read that does not end, never a block."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = ((stat.S_ISFIFO, "a pipe"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def open_regular(path: Path) -> BinaryIO:
    """`path` open for reading bytes, if it is a regular file; OSError naming what it is if not.

    A folder, pipe or device is refused before any read: stat() gives 0 bytes for /dev/zero or
    /dev/urandom, whose reads never end, and a pipe without a writer blocks its reader forever
    (hence the non-blocking open). Other errors (no such file, no permission) propagate.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    file = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return file
    file.close()
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise OSError(errno.EINVAL, f"{kind}, not a regular file")


def read_limited(path: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the regular file `path`: more than `limit` means over its limit."""
    with open_regular(path) as file:
        return file.read(limit + 1)
