"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]

# The process umask, read once (os.umask can only be read by setting it): mkstemp and mkdtemp make
# private files, and flowlab's should get the permissions any other file of the user's would.
UMASK = os.umask(0o022)
os.umask(UMASK)


def write_atomic(path, payload):
    """Writes bytes to ``path`` through a temporary file and a rename, so a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
