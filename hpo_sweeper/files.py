"""Writing a file whole or not at all: the one atomic-write helper of the package.

Results files, job records and ``multirun.yaml`` are rewritten while a sweep runs and
read by other processes (reports, a resumed sweep): each write goes to a temp file in
the same folder and is renamed over the target, so a crash at any moment leaves the
previous complete version, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``path`` whole or not at all. The temp file is created exclusively (never through a
    planted link), and the rename replaces a link at ``path`` rather than writing through it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp makes its file 0600; results files get the umask's mode, like Hydra's own files.
        os.fchmod(fd, 0o666 & ~_umask())
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    try:  # Linux shows it without changing it (other threads may be creating files)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere reading the umask means setting it: set it straight back
    os.umask(mask)
    return mask
