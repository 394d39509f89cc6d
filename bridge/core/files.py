"""Writing files so that nothing is lost: a file appears complete or not at all.

:func:`atomic_write` writes through a temporary name in the target's folder, flushes it to the disk and renames it
into place (``os.replace``, atomic on POSIX and Windows), then flushes the folder entry: Ctrl-C, a kill or a power
cut leaves either the old file or the new one, never half of one. Temporary names are
``.<name>.<tag>-<pid>`` (hidden, and recognisable by their tag for cleaning up after a crash).

:func:`check_outputs` is what every command asks before it writes: no output may be one of its inputs or another
of its outputs (compared by resolved path and by inode), and an existing file is replaced only with ``--force``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
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


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    """A path's resolved name and, when it exists, its (device, inode): two paths are one file if either
    matches (a hard link has another name, a file not yet written has no inode)."""
    resolved = str(path.expanduser().resolve())
    try:
        st = path.stat()
    except OSError:
        return resolved, None
    return resolved, (st.st_dev, st.st_ino)


def check_outputs(
    outputs: Sequence[tuple[str, str | os.PathLike[str] | None]],
    inputs: Sequence[str | os.PathLike[str] | None] = (),
    *,
    force: bool = False,
    force_option: str = "--force",
) -> None:
    """Refuse, before anything is opened or written, outputs that would destroy something.

    ``outputs`` are (option, path) pairs (a None path is skipped); ``inputs`` are the files the command reads.

    Raises:
        BridgeError: an output is one of the inputs, two outputs are the same file, an output's folder does
            not exist, or an output exists already and ``force`` is not set.
    """
    input_ids = [_identity(Path(p)) for p in inputs if p is not None and Path(p).exists()]
    seen: list[tuple[str, tuple[str, tuple[int, int] | None]]] = []
    for option, value in outputs:
        if value is None:
            continue
        path = Path(value)
        ident = _identity(path)
        for other in input_ids:
            if ident[0] == other[0] or (ident[1] is not None and ident[1] == other[1]):
                raise BridgeError(f"{option} {path} is the input file; write the output to another file")
        for other_option, other in seen:
            if ident[0] == other[0] or (ident[1] is not None and ident[1] == other[1]):
                raise BridgeError(f"{option} and {other_option} are the same file {path}; give each its own name")
        seen.append((option, ident))
        if path.is_dir():
            raise BridgeError(f"{option} {path} is a folder; give a file name")
        if not path.parent.is_dir():
            raise BridgeError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
        if path.exists() and not force:
            raise BridgeError(f"{path} already exists; pass {force_option} to replace it, or choose another name")
