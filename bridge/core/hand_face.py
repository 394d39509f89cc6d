"""What the hand and face models see, carried from the tracker to the consumer inside a :class:`LandmarkFrame`.

Small frozen values, no MediaPipe types (they are pickled across the tracker's process boundary and written to
recordings). Produced by :mod:`bridge.tracking.hand_face_detector`, consumed by :mod:`bridge.solve.hands` (finger
bones) and
:mod:`bridge.solve.face` (blend shapes, head and eyes).

Frames and units:

* MediaPipe hand world frame: like the pose world frame (x to the image's right, y down, z away from the
  camera, metres), origin at the hand's approximate geometric centre.
* Normalised image frame of the **whole** source image (x right, y down, 0..1), also for hands and faces found
  in a crop of it.
* Face transform: MediaPipe's facial transformation matrix, canonical face model → camera, where the camera
  frame is OpenGL's (x right, y up, z toward the viewer, centimetres) and the canonical face looks along +z with
  +x on the face's left. For a person facing the camera that is the rig frame (+X the person's left, Y up, +Z
  their front), so the rotation part is the head's world rotation in the rig frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

NUM_HAND_LANDMARKS = 21


class HandLandmark(enum.IntEnum):
    """MediaPipe HandLandmarker's 21 points."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_MCP = 5
    INDEX_PIP = 6
    INDEX_DIP = 7
    INDEX_TIP = 8
    MIDDLE_MCP = 9
    MIDDLE_PIP = 10
    MIDDLE_DIP = 11
    MIDDLE_TIP = 12
    RING_MCP = 13
    RING_PIP = 14
    RING_DIP = 15
    RING_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


#: The 52 ARKit blend shape names (Apple ``ARFaceAnchor.BlendShapeLocation``; "Perfect Sync"), in MediaPipe's
#: output order (MediaPipe's index 0, ``_neutral``, dropped) followed by ``tongueOut``, which MediaPipe does not
#: estimate (always 0). "Left"/"Right" are the person's own sides.
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
NUM_BLENDSHAPES = len(ARKIT_BLENDSHAPES)
ARKIT_INDEX: dict[str, int] = {n: i for i, n in enumerate(ARKIT_BLENDSHAPES)}


def _swap_side(name: str) -> str:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


#: ``weights[ARKIT_SWAP_LEFT_RIGHT]`` exchanges every ...Left weight with its ...Right twin (the mirror image's
#: weights; its own inverse).
ARKIT_SWAP_LEFT_RIGHT: npt.NDArray[np.intp] = np.array(
    [ARKIT_INDEX[_swap_side(n)] for n in ARKIT_BLENDSHAPES], dtype=np.intp
)


@dataclass(frozen=True, eq=False)
class HandObservation:
    """One hand as the hand model saw it.

    Attributes:
        world_xyz_m: (21, 3) float, MediaPipe hand world frame (x right, y down, z away), metres, origin at the
            hand's centre; rows in :class:`HandLandmark` order.
        image_xy: (21, 2) float, normalised coordinates in the whole source image (x right, y down).
        label: MediaPipe's handedness, "Left" or "Right", which names the hand as it would be in a **mirrored**
            (selfie) image; :func:`bridge.solve.hands.assign_sides` decides the person's side with the pose's
            wrists.
        score: handedness confidence in [0, 1].
    """

    world_xyz_m: FloatArray
    image_xy: FloatArray
    label: str
    score: float


@dataclass(frozen=True, eq=False)
class HandsResult:
    """The hands found in one frame (0, 1 or 2)."""

    hands: tuple[HandObservation, ...] = ()

    def __len__(self) -> int:
        return len(self.hands)


@dataclass(frozen=True, eq=False)
class FaceResult:
    """The face found in one frame.

    Attributes:
        blendshapes: (52,) float in [0, 1], weights in :data:`ARKIT_BLENDSHAPES` order.
        transform: (4, 4) float, facial transformation matrix: canonical face → camera (OpenGL camera frame:
            x right, y up, z toward the viewer; translation in centimetres). See the module docstring.
        image_xy: (2, 2) float, normalised image coordinates of the person's left and right iris centres (for
            drawing; gaze itself comes from the eyeLook* weights).
    """

    blendshapes: FloatArray
    transform: FloatArray
    image_xy: FloatArray


# ----------------------------------------------------------------------------- recording (optional JSON keys)


def _rounded(values: FloatArray, decimals: int = 6) -> list[object]:
    return (np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0).tolist()  # type: ignore[no-any-return]


def hands_to_json(hands: HandsResult) -> list[dict[str, object]]:
    """The ``"hands"`` value of a recording line: one object per hand."""
    return [
        {"world_xyz_m": _rounded(h.world_xyz_m), "image_xy": _rounded(h.image_xy), "label": h.label,
         "score": round(float(h.score), 6)}
        for h in hands.hands
    ]  # fmt: skip


def hands_from_json(value: object) -> HandsResult:
    """Inverse of :func:`hands_to_json`; ValueError/TypeError/KeyError on a malformed value."""
    if not isinstance(value, list):
        raise ValueError("hands must be a list")
    out = []
    for obj in value:
        world = np.asarray(obj["world_xyz_m"], dtype=np.float64)
        xy = np.asarray(obj["image_xy"], dtype=np.float64)
        if world.shape != (NUM_HAND_LANDMARKS, 3) or xy.shape != (NUM_HAND_LANDMARKS, 2):
            raise ValueError(f"a hand has shapes {world.shape} / {xy.shape}, expected (21, 3) / (21, 2)")
        out.append(HandObservation(world, xy, str(obj.get("label", "")), float(obj.get("score", 0.0))))
    return HandsResult(tuple(out))


def face_to_json(face: FaceResult) -> dict[str, object]:
    """The ``"face"`` value of a recording line."""
    return {
        "blendshapes": _rounded(face.blendshapes),
        "transform": _rounded(face.transform),
        "image_xy": _rounded(face.image_xy),
    }


def face_from_json(value: object) -> FaceResult:
    """Inverse of :func:`face_to_json`; ValueError/TypeError/KeyError on a malformed value."""
    if not isinstance(value, dict):
        raise ValueError("face must be an object")
    weights = np.asarray(value["blendshapes"], dtype=np.float64)
    transform = np.asarray(value["transform"], dtype=np.float64)
    xy = np.asarray(value.get("image_xy", np.zeros((2, 2))), dtype=np.float64)
    if weights.shape != (NUM_BLENDSHAPES,) or transform.shape != (4, 4) or xy.shape != (2, 2):
        raise ValueError(f"face has shapes {weights.shape} / {transform.shape}, expected (52,) / (4, 4)")
    return FaceResult(weights, transform, xy)
