"""Writing files so that nothing is lost: a file appears complete or not at all.

:func:`atomic_write` writes through a temporary name in the target's folder, flushes it to the disk and renames it
into place (``os.replace``, atomic on POSIX and Windows), then flushes the folder entry: Ctrl-C, a kill or a power
cut leaves either the old file or the new one, never half of one. Temporary names are
``.<name>.<tag>-<pid>`` (hidden, and recognisable by their tag for cleaning up after a crash).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from bridge.core.errors import BridgeError


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's data (or a folder's entries) to the disk, best effort (some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def temporary_name(path: Path, tag: str = "tmp") -> Path:
    """The hidden temporary name :func:`atomic_write` uses for ``path`` in this process."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def atomic_write(path: str | os.PathLike[str], data: bytes | str, what: str = "file", tag: str = "tmp") -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically (see the module docstring).

    Raises:
        BridgeError: the file cannot be written; the message names ``what`` (e.g. "BVH file") and the path, and
            any existing file at ``path`` is left as it was.
    """
    target = Path(path)
    tmp = temporary_name(target, tag)
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    except OSError as exc:
        raise BridgeError(
            f"cannot write {what} {target} ({exc.strerror or exc}); check the folder exists and is writable"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
