"""The 33 MediaPipe pose landmarks, by name, and the value that carries one frame of them.

No other module indexes landmarks with bare numbers: use :class:`PoseLandmark`.

Frames and units used in this module:

* MediaPipe world frame: x to the image's right, y down, z away from the camera, origin at the mid-point of the
  hips, metres. (For a person facing the camera, +x is the person's left side.)
* Normalised image frame: x in [0, 1] left→right, y in [0, 1] top→bottom (values may leave [0, 1] for landmarks
  outside the image).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bridge.core.hand_face import FaceResult, HandsResult

FloatArray = npt.NDArray[np.float64]

NUM_LANDMARKS = 33


class PoseLandmark(enum.IntEnum):
    """MediaPipe BlazePose landmark indices (the 33-point topology of PoseLandmarker)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


L = PoseLandmark


def _mirror_name(name: str) -> str:
    """LEFT_EYE → RIGHT_EYE, MOUTH_LEFT → MOUTH_RIGHT, NOSE → NOSE."""
    words = name.split("_")
    return "_".join({"LEFT": "RIGHT", "RIGHT": "LEFT"}.get(w, w) for w in words)


#: ``SWAP_LEFT_RIGHT[i]`` is the landmark that plays ``i``'s role on the other side of the body
#: (NOSE maps to itself). ``xyz[SWAP_LEFT_RIGHT]`` exchanges every left landmark with its right twin.
SWAP_LEFT_RIGHT: npt.NDArray[np.intp] = np.array(
    [PoseLandmark[_mirror_name(lm.name)] for lm in PoseLandmark], dtype=np.intp
)

#: Segments of the body as (landmark, landmark): used for bone-length checks and drawing.
BODY_SEGMENTS: tuple[tuple[PoseLandmark, PoseLandmark], ...] = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
    (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_WRIST, L.LEFT_INDEX),
    (L.LEFT_WRIST, L.LEFT_PINKY),
    (L.LEFT_WRIST, L.LEFT_THUMB),
    (L.RIGHT_WRIST, L.RIGHT_INDEX),
    (L.RIGHT_WRIST, L.RIGHT_PINKY),
    (L.RIGHT_WRIST, L.RIGHT_THUMB),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.LEFT_ANKLE, L.LEFT_HEEL),
    (L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
    (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    (L.RIGHT_ANKLE, L.RIGHT_HEEL),
    (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
    (L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
    (L.LEFT_EAR, L.LEFT_EYE),
    (L.RIGHT_EAR, L.RIGHT_EYE),
    (L.LEFT_EYE, L.NOSE),
    (L.RIGHT_EYE, L.NOSE),
    (L.MOUTH_LEFT, L.MOUTH_RIGHT),
)


@dataclass(frozen=True, eq=False)
class Placement:
    """Where the body is in the room: what hip-centred world landmarks cannot say.

    Attributes:
        hips_m: (3,) float, **room frame** (:mod:`bridge.core.frames`: right-handed, Y up, floor at y = 0, +X the
            reference camera's image right, +Z from the scene toward that camera, origin on the floor below it),
            metres: the mid-point of the two hip landmarks.
        source: how it was found: ``"camera"`` (one camera's model and the body's size) or ``"triangulated"``
            (several calibrated cameras).
        confidence: 0..1, how much to trust it (1: measured; lower: guessed, e.g. the feet out of view).
        lift_m: metres the body's lowest foot point is above the floor (0 standing on it; > 0 in a jump or on a
            box): how far the hips are above the height that would put that foot on the floor.
        height_m: the person's standing height this placement assumes, metres (a receiver's rig of another
            height scales the travel by its own height over this); NaN when unknown.
        planted: (left, right) that foot is planted (on the floor or what it stands on, not sliding): a rig
            keeps a planted foot where it was (:mod:`bridge.solve.root_motion`).
    """

    hips_m: FloatArray
    source: str = "camera"
    confidence: float = 1.0
    lift_m: float = 0.0
    height_m: float = float("nan")
    planted: tuple[bool, bool] = (False, False)


@dataclass(frozen=True, eq=False)
class LandmarkFrame:
    """One tracked frame: what the tracker hands to the rest of the pipeline.

    Attributes:
        t_s: timestamp in seconds. For live input a monotonic clock reading taken when the frame was grabbed;
            for files the frame's presentation time (frame index / fps for video).
        world_xyz_m: (33, 3) float, MediaPipe world frame (x right, y down, z away), hip-centred, metres.
            All zeros when ``person`` is False.
        image_xy: (33, 2) float, normalised image coordinates (x right, y down, 0..1).
        visibility: (33,) float in [0, 1]: how likely the landmark is visible (not occluded) in the image.
        presence: (33,) float in [0, 1]: how likely the landmark is present in the image at all.
        image_size: (width, height) of the source image in pixels.
        person: False for an explicit "no person in this frame" value.
        frame_index: index of the frame in its source (0-based), -1 when unknown.
        flags: free-form per-frame annotations added by the tracker and later stages (e.g. ``{"lr_swapped":
            True}``); read-only: a stage that adds one returns a new frame (:meth:`with_flags`).
        hands: the hands the hand model found (``--track hands``), None when it did not run.
        face: the face the face model found (``--track face``), None when it did not run or found none.
        placement: where the body stands in the room (:class:`Placement`), None until a stage estimates it.
    """

    t_s: float
    world_xyz_m: FloatArray
    image_xy: FloatArray
    visibility: FloatArray
    presence: FloatArray
    image_size: tuple[int, int]
    person: bool = True
    frame_index: int = -1
    flags: Mapping[str, object] = field(default_factory=dict)
    hands: HandsResult | None = None
    face: FaceResult | None = None
    placement: Placement | None = None

    @staticmethod
    def no_person(t_s: float, image_size: tuple[int, int], frame_index: int = -1) -> LandmarkFrame:
        """An explicit "no person" frame: zeros everywhere, ``person=False``."""
        return LandmarkFrame(
            t_s=float(t_s),
            world_xyz_m=np.zeros((NUM_LANDMARKS, 3)),
            image_xy=np.zeros((NUM_LANDMARKS, 2)),
            visibility=np.zeros(NUM_LANDMARKS),
            presence=np.zeros(NUM_LANDMARKS),
            image_size=(int(image_size[0]), int(image_size[1])),
            person=False,
            frame_index=frame_index,
        )

    def replace(self, **changes: object) -> LandmarkFrame:
        """A copy with some fields changed (``dataclasses.replace`` with a typed name)."""
        import dataclasses

        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_flags(self, **flags: object) -> LandmarkFrame:
        """A copy with ``flags`` added to (or replacing) this frame's flags."""
        return self.replace(flags={**self.flags, **flags})

    def equals(self, other: LandmarkFrame, atol: float = 0.0) -> bool:
        """Field-by-field equality of two frames (arrays compared with ``atol``); ``flags`` are ignored."""
        return (
            self.person == other.person
            and self.image_size == other.image_size
            and self.frame_index == other.frame_index
            and abs(self.t_s - other.t_s) <= atol
            and all(
                np.allclose(a, b, atol=atol, rtol=0)
                for a, b in (
                    (self.world_xyz_m, other.world_xyz_m),
                    (self.image_xy, other.image_xy),
                    (self.visibility, other.visibility),
                    (self.presence, other.presence),
                )
            )
        )
