"""Face: MediaPipe's 52 ARKit blend shape weights → the receiver's expression names, the head from the face
transform, and eye gaze → LeftEye / RightEye bones.

Pure numpy/scipy plus a small stateful stage (:class:`FaceSolver`): no mediapipe, no sockets.

Name sets (``--blendshapes``), all weights in [0, 1]:

* ``arkit``: the 52 ARKit names as Apple spells them, lowerCamelCase (``jawOpen``, ``eyeBlinkLeft``: "Perfect
  Sync" avatars in VSeeFace, VNyan, Warudo).
* ``arkit-pascal``: the same 52 in PascalCase (``JawOpen``, ``EyeBlinkLeft``), as many Perfect Sync avatars name
  their blend shape clips. The VMC specification says names are case-sensitive; receivers differ (EVMC4U
  lower-cases every name before it looks it up, so either set works there).
* ``vrm0``: VRM 0.x blend shape presets; ``vrm1``: VRM 1.0 expression presets, mapped from the ARKit weights:

================  ================  ===================================================================
VRM 0.x           VRM 1.0           from the ARKit weights (smile = mean of mouthSmileLeft/Right,
                                    open = clip(2·jawOpen, 0, 1), stretch = mean of mouthStretchLeft/Right)
================  ================  ===================================================================
Blink_L           blinkLeft         eyeBlinkLeft (the avatar's left eye)
Blink_R           blinkRight        eyeBlinkRight
A                 aa                jawOpen · (1 − max(mouthFunnel, mouthPucker))
I                 ih                stretch · (1 − jawOpen)
U                 ou                mouthPucker · (1 − jawOpen)
E                 ee                stretch · jawOpen
O                 oh                mouthFunnel
Joy               happy             smile · open (an open-mouthed laugh)
Fun               relaxed           smile · (1 − open) (a closed-mouth smile)
Angry             angry             mean of browDownLeft/Right
Sorrow            sad               mean of mouthFrownLeft/Right
—                 surprised         max(min(browInnerUp, mean of eyeWideLeft/Right), jawOpen · browInnerUp)
================  ================  ===================================================================

Gaze is not sent as expressions (VRM 1.0 lookUp/…): it turns the LeftEye / RightEye bones instead, so an avatar
does not get it twice.

Mirror (``--mirror``): :mod:`bridge.stages.mirror` has already exchanged every left/right pair (eyeBlinkLeft
then drives the avatar's right eye) and reflected the transform; this module knows nothing of it.

Head: the face transform's rotation is the head's world rotation in the rig frame (see
:mod:`bridge.core.hand_face`); it replaces the body solver's head (from ears and nose, much coarser), split evenly
between Neck and Head like the body solver does, clamped to ``head_max_deg`` from the chest.

Eyes: yaw = (eyeLookOut − eyeLookIn) · ``eye_yaw_max_deg`` toward the eye's own side, pitch = (eyeLookUp −
eyeLookDown) · ``eye_pitch_max_deg``; local to the Head bone.

Filtering: the 52 weights pass a One-Euro filter (weights per second as the speed unit) before anything is
derived from them. A face that disappears holds its weights ``hold_s``, then eases them to 0 over ``ease_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.frames import opengl_camera_to_rig_rotation
from bridge.core.hand_face import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES
from bridge.core.landmarks import LandmarkFrame
from bridge.core.one_euro import OneEuroFilter
from bridge.core.pose import BonePose, BoneState

FloatArray = npt.NDArray[np.float64]

NAME_SETS: tuple[str, ...] = ("arkit", "arkit-pascal", "vrm0", "vrm1")

#: The 52 ARKit names in PascalCase (``jawOpen`` → ``JawOpen``), in :data:`ARKIT_BLENDSHAPES` order.
ARKIT_PASCAL_NAMES: tuple[str, ...] = tuple(n[:1].upper() + n[1:] for n in ARKIT_BLENDSHAPES)


def _g(w: FloatArray, name: str) -> float:
    return float(w[ARKIT_INDEX[name]])


def _mean(w: FloatArray, stem: str) -> float:
    return 0.5 * (_g(w, stem + "Left") + _g(w, stem + "Right"))


def _presets(w: FloatArray) -> dict[str, float]:
    """The VRM presets as neutral keys (the VRM 1.0 names) from (52,) ARKit weights; see the module table."""
    smile = _mean(w, "mouthSmile")
    stretch = _mean(w, "mouthStretch")
    jaw = _g(w, "jawOpen")
    opened = min(1.0, 2.0 * jaw)
    funnel, pucker = _g(w, "mouthFunnel"), _g(w, "mouthPucker")
    brow_up = _g(w, "browInnerUp")
    out = {
        "blinkLeft": _g(w, "eyeBlinkLeft"),
        "blinkRight": _g(w, "eyeBlinkRight"),
        "aa": jaw * (1.0 - max(funnel, pucker)),
        "ih": stretch * (1.0 - jaw),
        "ou": pucker * (1.0 - jaw),
        "ee": stretch * jaw,
        "oh": funnel,
        "happy": smile * opened,
        "relaxed": smile * (1.0 - opened),
        "angry": _mean(w, "browDown"),
        "sad": _mean(w, "mouthFrown"),
        "surprised": max(min(brow_up, _mean(w, "eyeWide")), jaw * brow_up),
    }
    return {k: float(np.clip(v, 0.0, 1.0)) for k, v in out.items()}


#: VRM 1.0 expression preset → VRM 0.x blend shape preset (VRM 0.x has no "surprised").
VRM0_NAMES: dict[str, str] = {
    "blinkLeft": "Blink_L", "blinkRight": "Blink_R", "aa": "A", "ih": "I", "ou": "U", "ee": "E", "oh": "O",
    "happy": "Joy", "relaxed": "Fun", "angry": "Angry", "sad": "Sorrow",
}  # fmt: skip


def map_blendshapes(weights: FloatArray, name_set: str = "vrm0") -> dict[str, float]:
    """(52,) ARKit weights (:data:`ARKIT_BLENDSHAPES` order, [0, 1]) → name → weight for the receiver.

    Args:
        weights: the weights of the face ("Left" = the face's own left).
        name_set: ``arkit``, ``arkit-pascal``, ``vrm0`` or ``vrm1`` (see the module docstring).
    """
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, 1.0)
    if w.shape != (NUM_BLENDSHAPES,):
        raise BridgeError(f"expected {NUM_BLENDSHAPES} blend shape weights, got shape {w.shape}")
    if name_set in ("arkit", "arkit-pascal"):
        names = ARKIT_BLENDSHAPES if name_set == "arkit" else ARKIT_PASCAL_NAMES
        return {n: float(v) for n, v in zip(names, w, strict=True)}
    presets = _presets(w)
    if name_set == "vrm1":
        return presets
    if name_set == "vrm0":
        return {VRM0_NAMES[k]: v for k, v in presets.items() if k in VRM0_NAMES}
    raise BridgeError(f"unknown blend shape name set {name_set!r}; use one of {', '.join(NAME_SETS)}")


# ------------------------------------------------------------------------------------------ head and eyes


def head_rotation(transform: FloatArray) -> FloatArray:
    """(3, 3) head world rotation, rig frame, from a (4, 4) facial transformation matrix (its rotation part,
    made orthonormal)."""
    u, _, vt = np.linalg.svd(np.asarray(transform, dtype=np.float64)[:3, :3])
    r = u @ vt
    if np.linalg.det(r) < 0:
        r = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    return opengl_camera_to_rig_rotation(r)


def eye_rotations(
    weights: FloatArray, yaw_max_deg: float = 25.0, pitch_max_deg: float = 20.0
) -> dict[str, Rotation]:
    """LeftEye / RightEye local rotations (rig frame, relative to the Head) from (52,) ARKit weights of the
    avatar. The avatar faces +Z, +X is its left: looking to its left turns +Z toward +X
    (positive about +Y), looking up turns +Z toward +Y (negative about +X)."""
    w = np.asarray(weights, dtype=np.float64)
    out = {}
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        yaw = sign * (_g(w, f"eyeLookOut{side}") - _g(w, f"eyeLookIn{side}")) * np.radians(yaw_max_deg)
        pitch = (_g(w, f"eyeLookUp{side}") - _g(w, f"eyeLookDown{side}")) * np.radians(pitch_max_deg)
        out[f"{side}Eye"] = Rotation.from_rotvec([0.0, yaw, 0.0]) * Rotation.from_rotvec([-pitch, 0.0, 0.0])
    return out


# ------------------------------------------------------------------------------------------ stateful stage


@dataclass(frozen=True)
class FaceConfig:
    """Settings of the face stage.

    Attributes:
        names: blend shape name set sent to receivers, one of :data:`NAME_SETS`.
        drive_head: the head (Neck + Head) from the face transform.
        drive_eyes: LeftEye / RightEye from the gaze weights.
        head_max_deg: largest head rotation relative to the chest.
        max_head_disagreement_deg: where the body solver tracked the head and the face transform's head differs
            from it by more than this, the face is not trusted for the head (a face found on the back of a
            head, or someone else's): the body's head stays. Measured on the Sports2D demo: median 15°.
        eye_yaw_max_deg, eye_pitch_max_deg: eye rotation at weight 1.
        hold_s, ease_s: a lost face holds its weights this long, then eases them to 0 over ``ease_s``.
        filter: One-Euro on the weights; min_cutoff_hz, beta: its settings (beta per weight/s).
    """

    names: str = "vrm0"
    drive_head: bool = True
    drive_eyes: bool = True
    head_max_deg: float = 100.0
    max_head_disagreement_deg: float = 75.0
    eye_yaw_max_deg: float = 25.0
    eye_pitch_max_deg: float = 20.0
    hold_s: float = 0.5
    ease_s: float = 1.0
    filter: bool = True
    min_cutoff_hz: float = 3.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        if self.names not in NAME_SETS:
            raise BridgeError(f"unknown blend shape name set {self.names!r}; use one of {', '.join(NAME_SETS)}")


@dataclass(frozen=True, eq=False)
class FaceOutput:
    """What the face stage adds to a frame: the pose with head/eyes, and the weights to send (None: no face
    has been seen yet)."""

    pose: BonePose
    blendshapes: dict[str, float] | None
    arkit_weights: FloatArray | None


class FaceSolver:
    """Per frame, in order: filter the face's weights, map them, and turn head and eyes of the body's pose."""

    def __init__(self, config: FaceConfig = FaceConfig()) -> None:
        self.config = config
        self._filter = OneEuroFilter(config.min_cutoff_hz, config.beta) if config.filter else None
        self._last_w: FloatArray | None = None
        self._last_t: float | None = None
        self._lost_since: float | None = None

    def _weights(self, frame: LandmarkFrame, t_s: float) -> tuple[FloatArray | None, bool]:
        """The filtered (or held / eased) weights of this frame, and whether the face was seen."""
        cfg = self.config
        face = frame.face
        if face is not None:
            w = np.clip(np.asarray(face.blendshapes, dtype=np.float64), 0.0, 1.0)
            if self._filter is not None:
                if self._lost_since is not None or self._last_t is None or t_s <= self._last_t:
                    self._filter.reset()
                w = np.clip(self._filter(t_s, w), 0.0, 1.0)
            self._last_w, self._last_t, self._lost_since = w, t_s, None
            return w, True
        if self._last_w is None:
            return None, False
        if self._lost_since is None:
            self._lost_since = t_s
        fade = float(np.clip((t_s - self._lost_since - cfg.hold_s) / max(cfg.ease_s, 1e-6), 0.0, 1.0))
        return self._last_w * (1.0 - fade), False

    def __call__(self, frame: LandmarkFrame, pose: BonePose) -> FaceOutput:
        cfg = self.config
        w, seen = self._weights(frame, frame.t_s)
        if w is None:
            return FaceOutput(pose, None, None)
        quats = pose.local_rotations.as_quat().copy()
        state = pose.bone_state.copy()
        rig = pose.rig

        def put(bone: str, r: Rotation, st: int) -> None:
            if rig.has(bone):
                quats[rig.index(bone)] = r.as_quat()
                state[rig.index(bone)] = st

        if cfg.drive_head and seen and frame.face is not None and rig.has("Head"):
            top = "Neck" if rig.has("Neck") else "Head"
            parent = rig.parent_of(top)
            _, world = pose.world()
            parent_w = world[rig.index(parent)] if parent is not None else np.eye(3)
            face_head = head_rotation(frame.face.transform)
            body_head = world[rig.index("Head")]
            body_tracked = pose.bone_state[rig.index("Head")] == BoneState.TRACKED
            gap = Rotation.from_matrix(body_head.T @ face_head).magnitude()
            if not body_tracked or gap <= np.radians(cfg.max_head_disagreement_deg):
                rv = Rotation.from_matrix(parent_w.T @ face_head).as_rotvec()
                limit = np.radians(cfg.head_max_deg)
                n = float(np.linalg.norm(rv))
                if n > limit:
                    rv *= limit / n
                if top == "Neck":
                    put("Neck", Rotation.from_rotvec(rv / 2), BoneState.TRACKED)
                    put("Head", Rotation.from_rotvec(rv / 2), BoneState.TRACKED)
                else:
                    put("Head", Rotation.from_rotvec(rv), BoneState.TRACKED)
        if cfg.drive_eyes:
            for bone, r in eye_rotations(w, cfg.eye_yaw_max_deg, cfg.eye_pitch_max_deg).items():
                put(bone, r, BoneState.TRACKED if seen else BoneState.HELD)
        new_pose = BonePose(
            t_s=pose.t_s,
            rig=rig,
            hips_position_m=pose.hips_position_m,
            local_rotations=Rotation.from_quat(quats),
            bone_state=state,
            tracking=pose.tracking,
            flags=pose.flags,
        )
        return FaceOutput(new_pose, map_blendshapes(w, cfg.names), w)


#: Helpers for tests / tools: the source weights each VRM 1.0 preset reads (by construction of the table).
PRESET_SOURCES: dict[str, tuple[str, ...]] = {
    "blinkLeft": ("eyeBlinkLeft",),
    "blinkRight": ("eyeBlinkRight",),
    "aa": ("jawOpen",),
    "ih": ("mouthStretchLeft", "mouthStretchRight"),
    "ou": ("mouthPucker",),
    "ee": ("mouthStretchLeft", "mouthStretchRight"),
    "oh": ("mouthFunnel",),
    "happy": ("mouthSmileLeft", "mouthSmileRight"),
    "relaxed": ("mouthSmileLeft", "mouthSmileRight"),
    "angry": ("browDownLeft", "browDownRight"),
    "sad": ("mouthFrownLeft", "mouthFrownRight"),
}
