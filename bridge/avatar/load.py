"""Any rig a user can name: a bundled rig, a rig ``.json`` file, or an avatar (``.vrm`` / ``.glb`` / ``.gltf``)."""

from __future__ import annotations

from pathlib import Path

from bridge.avatar.read import read_avatar
from bridge.core.rig import AVATAR_SUFFIXES, Rig, load_rig


def load_rig_or_avatar(name_or_path: str | Path = "default") -> Rig:
    """The rig of ``--rig`` / ``--avatar``: an avatar file's humanoid skeleton (:func:`read_avatar`), else a rig
    by bundled name or ``.json`` path (:func:`bridge.core.rig.load_rig`)."""
    path = Path(str(name_or_path))
    if path.suffix.lower() in AVATAR_SUFFIXES and path.is_file():
        return read_avatar(path)
    return load_rig(name_or_path)
