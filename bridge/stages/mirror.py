"""The mirror stage (``--mirror``): the avatar moves as the user's mirror image, as many VTubers prefer.

Without it the avatar moves like another person facing the user (their right hand moves its right hand); with it,
like their reflection (their right hand moves its left hand). The stage reflects everything a frame carries,
once, so nothing after it knows about the mirror:

* body landmarks: every left landmark exchanged with its right twin
(:data:`~bridge.core.landmarks.SWAP_LEFT_RIGHT`)
  with its visibility and presence, world points reflected (x → −x), image points flipped (x → 1 − x);
* hands: world and image points reflected the same way, MediaPipe's handedness label exchanged; each hand
  then follows the arm it hangs from (the user's right hand, on their right arm, drives the avatar's left hand);
* face: the ARKit weights' left/right pairs exchanged (:data:`~bridge.core.hand_face.ARKIT_SWAP_LEFT_RIGHT`), the
  facial transform reflected (``S·T·S``), the iris points exchanged and flipped.

It runs after the flip repair, the lifter and the filter (they work on what the camera saw; each is symmetric
under the reflection) and before the solvers. The reflections are :func:`~bridge.core.frames.reflect_x`,
:func:`~bridge.core.frames.reflect_x_rotation` and :func:`~bridge.core.frames.flip_image_x`.
"""

from __future__ import annotations

from bridge.core.frames import flip_image_x, reflect_x, reflect_x_rotation
from bridge.core.hand_face import ARKIT_SWAP_LEFT_RIGHT, FaceResult, HandObservation, HandsResult
from bridge.core.landmarks import SWAP_LEFT_RIGHT, LandmarkFrame

_OTHER_LABEL = {"Left": "Right", "Right": "Left"}


def mirror_hand(hand: HandObservation) -> HandObservation:
    """One hand as its mirror image (points reflected, handedness label exchanged)."""
    return HandObservation(
        world_xyz_m=reflect_x(hand.world_xyz_m),
        image_xy=flip_image_x(hand.image_xy),
        label=_OTHER_LABEL.get(hand.label, hand.label),
        score=hand.score,
    )


def mirror_face(face: FaceResult) -> FaceResult:
    """A face as its mirror image (weights' sides exchanged, transform reflected, irises exchanged)."""
    return FaceResult(
        blendshapes=face.blendshapes[ARKIT_SWAP_LEFT_RIGHT],
        transform=reflect_x_rotation(face.transform),
        image_xy=flip_image_x(face.image_xy[::-1]),
    )


def mirror_frame(frame: LandmarkFrame) -> LandmarkFrame:
    """The whole frame as its mirror image (see the module docstring); a no-person frame keeps its hands and face
    mirrored too."""
    changes: dict[str, object] = {}
    if frame.person:
        changes.update(
            world_xyz_m=reflect_x(frame.world_xyz_m[SWAP_LEFT_RIGHT]),
            image_xy=flip_image_x(frame.image_xy[SWAP_LEFT_RIGHT]),
            visibility=frame.visibility[SWAP_LEFT_RIGHT],
            presence=frame.presence[SWAP_LEFT_RIGHT],
        )
    if frame.hands is not None:
        changes["hands"] = HandsResult(tuple(mirror_hand(h) for h in frame.hands.hands))
    if frame.face is not None:
        changes["face"] = mirror_face(frame.face)
    return frame.replace(**changes) if changes else frame


class Mirror:
    """The pipeline stage: ``LandmarkFrame → LandmarkFrame`` (stateless)."""

    def __call__(self, frame: LandmarkFrame) -> LandmarkFrame:
        return mirror_frame(frame)
