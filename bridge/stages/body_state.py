"""The body-state stage: one estimate of the person in a room with gravity up and a floor at y = 0.

``LandmarkFrame → LandmarkFrame`` (between the filter/mirror and the solver). Each frame it:

1. **waits for a confident start** — no pose is published (the frame goes on as "no person") until
   ``startup_frames`` frames in a row show the trunk with visibility ≥ ``startup_visibility`` and a pelvis that
   turns less than ``startup_turn_deg`` between frames (a person lost for over a second who comes back:
   ``restart_frames`` / ``restart_turn_deg``); then the pose eases in (flag ``ease_in``, 0 → 1 over
   ``ease_in_s``; :func:`ease_in_pose`). MediaPipe's first frames of a clip are its least stable (a 136° hip
   spin at the start of a Pose2Sim view).
2. **makes the legs plausible** (:mod:`bridge.stages.plausible`): a knee bent against its joint is replaced by
   its depth-mirrored twin (or the last plausible bend), a backwards foot likewise; a leg with no plausible
   alternative does not drive its bones (its landmarks fall under the solver's cut: the solver holds the last
   plausible rotations, then eases as for any unseen bone).
3. **softens visibility**: an arm landmark under the solver's cut (``solver_cut``) but above ``soft_min`` whose
   bones keep this person's lengths (within ``length_tolerance``) still drives its bone: its visibility is raised
   to the cut and its position weighted toward the last one by how little it is seen.
4. **places the body** (:class:`~bridge.core.landmarks.Placement`): the hips' position relative to the camera from
   a pinhole model (:mod:`bridge.stages.camera_model`: ``camera`` or ``fov_deg``) and the body's metric size (its
   world landmarks, scaled to ``height_m`` where given); the camera's tilt and height above the floor from where
   the feet stood (:mod:`bridge.stages.camera_floor`; the body's up direction while it stands straight where the
   feet do not say); then the room frame (:func:`~bridge.core.frames.camera_to_room`). Where several calibrated
   cameras placed the body (``source="triangulated"``), their placement is kept, and the feet below are theirs.
5. **finds planted feet** (:mod:`bridge.stages.contacts`): a heel or toe no higher than the other foot's
   lowest point, not well above the floor, that the image shows still (its pixel motion × depth / focal
   length: a single camera's depth wavers by 6 % a frame, which read every planted foot as moving); the
   placement says which (:attr:`~bridge.core.landmarks.Placement.planted`) and the rig keeps them where they
   were planted (:mod:`bridge.solve.root_motion`, with the rig's own legs: pinning the person's feet here as
   well drifted the path 30–50 cm on rendered clips). While a foot is planted the body's lift above the floor
   is the surface it stands on (the floor, or a step or box); in flight the lift is what the camera sees,
   never below 0; feet are pitched so that the person's flat foot is the rig's flat foot
   (:meth:`BodyState._flat_feet`).

The stage keeps state; :meth:`BodyState.offline` runs a whole clip (the camera's tilt and floor estimated from
all of it first, the person published from the first frame of each confident streak rather than its last and
given the clip's median size, each landing standing on its surface from when the foot lands
(:mod:`bridge.stages.contacts`), each flight's travel put on a straight line (:mod:`bridge.stages.flight`), the
hips' path then low-passed zero-phase) for ``export``/``batch``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bridge.core.frames import camera_to_room, room_to_camera, to_pixels
from bridge.core.landmarks import LandmarkFrame, Placement
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.one_euro import OneEuroFilter
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.core.rotations import norm
from bridge.core.running_median import RunningMedian
from bridge.stages.camera_floor import CameraFloor
from bridge.stages.camera_model import DEFAULT_FOV_DEG, PinholeCamera, hips_from_image
from bridge.stages.contacts import CONTACT_FLAG, ContactConfig, ContactTracker, early_contacts, early_landings
from bridge.stages.flight import ballistic_flights
from bridge.stages.plausible import (
    LEG_IMPOSSIBLE,
    LEG_OK,
    LEGS,
    PlausibleConfig,
    knee_bend,
    pelvis_forward,
    plausible_legs,
)

FloatArray = npt.NDArray[np.float64]

#: ``--root-motion`` values: ``off`` the hips stay above the origin (grounded), ``planar`` they travel over the
#: floor (height still grounded), ``full`` they travel and rise (jumps, climbing).
ROOT_MOTION_CHOICES = ("off", "planar", "full")
#: Flag of a frame held back while the stage waits for a confident start.
STARTING_FLAG = "starting"
#: Flag (0..1) of a frame in the ease-in after the start.
EASE_IN_FLAG = "ease_in"
#: Flags (int, int) left/right: :func:`~bridge.stages.plausible.plausible_legs`' verdict on each leg.
LEGS_FIXED_FLAG = "legs_fixed"

_TORSO = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP)
_FEET = ((L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX), (L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX))
#: Bones of the soft visibility, each (parent, child) whose length is checked: the arms only. A leg MediaPipe
#: sees poorly is mostly one hidden behind the other (side views), whose depth is its worst guess: driving it
#: gave backwards knees on 12–15 frames of the registry clips (Sports2D demo, Pose2Sim cam03).
_LIMB_BONES = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW), (L.RIGHT_ELBOW, L.RIGHT_WRIST),
)  # fmt: skip
#: Standing height over (hip→knee→ankle + hips mid→shoulders mid): 1 / 0.78 (Winter's segment proportions).
_HEIGHT_PER_LEG_TRUNK = 1.0 / 0.78
#: Thighs and shanks (from, to) and the legs' joints (hips, knees, ankles; left, right), for array lookups.
_LEG_SEGMENTS = np.array(
    [
        [L.LEFT_HIP, L.LEFT_KNEE],
        [L.LEFT_KNEE, L.LEFT_ANKLE],
        [L.RIGHT_HIP, L.RIGHT_KNEE],
        [L.RIGHT_KNEE, L.RIGHT_ANKLE],
    ]
)
_LEG_JOINTS = np.array([[L.LEFT_HIP, L.RIGHT_HIP], [L.LEFT_KNEE, L.RIGHT_KNEE], [L.LEFT_ANKLE, L.RIGHT_ANKLE]])
#: The level rotation of landmarks already in a levelled camera frame (triangulated: y along gravity).
_LEVELLED = np.eye(3)


@dataclass(frozen=True)
class BodyStateConfig:
    """Settings of the body-state stage (see the module docstring for each step).

    Attributes:
        fov_deg: the camera's horizontal field of view (``--fov``), used when ``camera`` is None.
        camera: calibrated intrinsics (scaled to each frame's size), else None.
        height_m: the person's height (``--height``), None: MediaPipe's metric estimate.
        startup_frames, startup_visibility, startup_turn_deg, ease_in_s: the confident start of a clip.
        restart_frames, restart_turn_deg: the same when a person lost for over a second comes back (often
            mid-motion: the strict start would hold a running person back for a third of a second).
        soft_min, solver_cut, length_tolerance: the soft visibility.
        plausible: the leg checks; None leaves legs as they are.
        contact: when a foot counts as planted.
        step_m: a foot planted higher than this above the floor stands on something (a step, a box): the body
            keeps that height while it stands there; lower, it stands on the floor.
        lowpass_hz: offline only: zero-phase low-pass of the hips' height and lift.
        path_lowpass_hz: offline only: zero-phase low-pass of the travel over the floor (x, z): a single camera's
            depth wavers by several per cent of the distance from frame to frame; walking moves slower.
        path_min_cutoff_hz, path_beta: live only: the One-Euro filter of the travel.
        rig_foot_slope_deg: how far the rig's ankle → toe-tip line slopes down at rest (:func:`rig_foot_slope_deg`;
            the processor sets it from its rig); None leaves the feet's pitch as MediaPipe has it.
    """

    fov_deg: float = DEFAULT_FOV_DEG
    camera: PinholeCamera | None = None
    height_m: float | None = None
    startup_frames: int = 6
    startup_visibility: float = 0.6
    startup_turn_deg: float = 10.0
    restart_frames: int = 3
    restart_turn_deg: float = 25.0
    ease_in_s: float = 0.0
    soft_min: float = 0.15
    solver_cut: float = 0.5
    length_tolerance: float = 0.3
    plausible: PlausibleConfig | None = field(default_factory=PlausibleConfig)
    contact: ContactConfig = field(default_factory=ContactConfig)
    step_m: float = 0.15
    lowpass_hz: float = 6.0
    rig_foot_slope_deg: float | None = None
    path_min_cutoff_hz: float = 0.5
    path_beta: float = 2.0
    path_lowpass_hz: float = 1.5


def _yaw_deg(xyz: FloatArray) -> float:
    """The pelvis' heading about the camera's vertical, degrees (world frame)."""
    up = 0.5 * (xyz[L.LEFT_SHOULDER] + xyz[L.RIGHT_SHOULDER]) - 0.5 * (xyz[L.LEFT_HIP] + xyz[L.RIGHT_HIP])
    fwd = pelvis_forward(xyz[L.LEFT_HIP], xyz[L.RIGHT_HIP], up)
    return math.degrees(math.atan2(float(fwd[0]), float(-fwd[2])))


def _lowest(rel: FloatArray) -> FloatArray:
    """(2,) each foot's lowest point (ankle, heel, toe) of (33, 3) hip-centred room-axes landmarks, metres."""
    return np.array([min(rel[i][1] for i in foot) for foot in _FEET])


def _body_lengths_m(xyz: FloatArray) -> FloatArray:
    """(5,) metres of (33, 3) landmarks: the left thigh, left shank, right thigh, right shank (rigid bones) and
    the trunk (hips mid → shoulders mid, which shortens as the spine bends)."""
    segments = xyz[_LEG_SEGMENTS[:, 1]] - xyz[_LEG_SEGMENTS[:, 0]]  # (4, 3): thighs and shanks
    trunk = 0.5 * (xyz[L.LEFT_SHOULDER] + xyz[L.RIGHT_SHOULDER] - xyz[L.LEFT_HIP] - xyz[L.RIGHT_HIP])
    return norm(np.vstack([segments, trunk]))


def _leg_trunk_m(lengths_m: FloatArray) -> FloatArray:
    """(...) metres: the mean leg plus the trunk, of (..., 5) :func:`_body_lengths_m` lengths."""
    return np.asarray(0.5 * lengths_m[..., :4].sum(axis=-1) + lengths_m[..., 4])


def _standing_up(xyz: FloatArray) -> FloatArray | None:
    """The body's up direction (world frame, unit) when it stands straight (both knees and the trunk over the
    legs within 20°), else None."""
    mid_hip = 0.5 * (xyz[L.LEFT_HIP] + xyz[L.RIGHT_HIP])
    mid_ankle = 0.5 * (xyz[L.LEFT_ANKLE] + xyz[L.RIGHT_ANKLE])
    mid_shoulder = 0.5 * (xyz[L.LEFT_SHOULDER] + xyz[L.RIGHT_SHOULDER])
    legs = xyz[_LEG_JOINTS]  # (3, 2, 3): hips, knees, ankles of both legs
    if float(knee_bend(legs[0], legs[1], legs[2])[2].max()) > 20.0:
        return None
    along, trunk = mid_hip - mid_ankle, mid_shoulder - mid_hip
    cos = float(along @ trunk) / max(math.sqrt(float(along @ along) * float(trunk @ trunk)), 1e-9)
    if cos < math.cos(math.radians(20.0)):
        return None
    up = mid_shoulder - mid_ankle
    return np.asarray(up / math.sqrt(float(up @ up)), dtype=np.float64)


class BodyState:
    """The stage (see the module docstring): ``LandmarkFrame → LandmarkFrame`` with a :class:`Placement`."""

    def __init__(self, config: BodyStateConfig = BodyStateConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget the person and the camera (a new clip)."""
        self._slope_seed: list[float] = []  # offline: the flat-foot slopes learned from the whole clip
        self._offline = False
        self._all_slopes: deque[float] = deque(maxlen=120)
        self._camera = CameraFloor()
        self._sizes = RunningMedian(60)  # the person's height from their legs and trunk
        self._clip_size: tuple[float, FloatArray] | None = None  # offline: it and each leg bone over the clip
        self._lengths: dict[tuple[L, L], RunningMedian] = {b: RunningMedian(60) for b in _LIMB_BONES}
        self._ever_started = False  # the clip's first start is the strict one (MediaPipe's least stable frames)
        self._starts_s: list[float] | None = None  # offline's probe: each start's first confident frame
        self._early_starts: frozenset[float] = frozenset()  # offline: those of the whole clip (start there)
        self._forget_person()

    def _forget_person(self) -> None:
        self._streak = 0
        self._streak_from_s = math.nan
        self._last_yaw: float | None = None
        self._started_s: float | None = None
        self._last_seen_s = -math.inf
        self._bends: FloatArray | None = None
        self._previous: FloatArray | None = None
        self._contacts = ContactTracker(self.config.contact, feet=4)  # heels and toes
        self._feet_contacts = ContactTracker(self.config.contact, feet=2)  # triangulated feet
        self._depths = RunningMedian(30)
        self._last_ends_px: FloatArray | None = None
        self._across_m = np.zeros((4, 2))
        self._surfaces = np.full(2, math.inf)  # the height of what each planted foot stands on
        self._last_placement: Placement | None = None
        self._planted = (False, False)
        self._foot_slopes = RunningMedian(120, self._slope_seed)
        self._path_filter = OneEuroFilter(self.config.path_min_cutoff_hz, self.config.path_beta, vector_axis=-1)
        self._last_t_path: float | None = None

    # -- the steps -----------------------------------------------------------------------------------------

    def _confident(self, frame: LandmarkFrame) -> bool:
        cfg = self.config
        if float(np.min(frame.visibility[list(_TORSO)])) < cfg.startup_visibility:
            self._last_yaw = None
            return False
        yaw = _yaw_deg(frame.world_xyz_m)
        turn = 0.0 if self._last_yaw is None else abs((yaw - self._last_yaw + 180.0) % 360.0 - 180.0)
        self._last_yaw = yaw
        limit = cfg.restart_turn_deg if self._ever_started else cfg.startup_turn_deg
        return self._last_yaw is not None and turn < limit

    def _soften(self, xyz: FloatArray, vis: FloatArray) -> tuple[FloatArray, FloatArray]:
        cfg = self.config
        xyz, vis = xyz.copy(), vis.copy()
        for bone in _LIMB_BONES:
            a, b = bone
            length = float(np.linalg.norm(xyz[b] - xyz[a]))
            known = self._lengths[bone]
            if vis[a] >= cfg.solver_cut and vis[b] >= cfg.solver_cut:
                known.append(length)
                continue
            if not known or vis[a] < cfg.solver_cut or not cfg.soft_min <= vis[b] < cfg.solver_cut:
                continue
            typical = known.median()
            if abs(length - typical) > cfg.length_tolerance * typical:
                continue
            if self._previous is not None:
                w = max(0.5, (vis[b] - cfg.soft_min) / (cfg.solver_cut - cfg.soft_min))
                xyz[b] = self._previous[b] + w * (xyz[b] - self._previous[b])
            vis[b] = cfg.solver_cut
        return xyz, vis

    def _scale(self, xyz: FloatArray) -> tuple[float, float]:
        """(the factor from this frame's landmarks to the person's metres, the person's height in metres).

        The person keeps one size (bone lengths constant per person), since MediaPipe's metric size wavers by
        several per cent from frame to frame, and depth from size wavers with it (5 % at 10 m is 50 cm). Live,
        each frame's landmarks are scaled to the median size (legs and trunk) of the last 60 frames (within
        ±25 %). Offline, to the whole clip's: its thighs and shanks are given their median lengths over the clip,
        by the median of the four bones' ratios. The trunk is left out of that ratio (a bending spine shortens
        it, which a clip-long median cannot follow: on exact mocap landmarks it put the jumps' path 6 cm off;
        live, with legs alone, rendered clips' root paths were 1–3 cm worse: fewer bones, more noise), not out
        of the height (legs and trunk, :data:`_HEIGHT_PER_LEG_TRUNK`).
        """
        lengths = _body_lengths_m(xyz)
        if self._clip_size is None:
            size = float(_leg_trunk_m(lengths)) * _HEIGHT_PER_LEG_TRUNK
            self._sizes.append(size)
            estimate = self._sizes.median()
            ratio = estimate / max(size, 1e-6)
        else:
            estimate, bones = self._clip_size
            ratios = np.sort(bones / np.maximum(lengths[:4], 1e-6))
            ratio = 0.5 * float(ratios[1] + ratios[2])  # their median: one bone far off (a lost foot) is outvoted
        height = self.config.height_m if self.config.height_m is not None else estimate
        return height / estimate * float(np.clip(ratio, 0.8, 1.25)), height

    def _place(self, frame: LandmarkFrame, xyz: FloatArray) -> tuple[FloatArray, Placement | None]:
        """The placement of this frame, and the landmarks with planted feet set flat."""
        cfg = self.config
        if frame.placement is not None and frame.placement.source == "triangulated":
            return self._place_triangulated(frame, xyz)
        scale, height = self._scale(xyz)
        body = xyz * scale
        camera = (cfg.camera or PinholeCamera.from_fov(frame.image_size, cfg.fov_deg)).for_image(frame.image_size)
        hips_cam = hips_from_image(camera, body, to_pixels(frame.image_xy, frame.image_size), frame.visibility)
        if hips_cam is None:
            return xyz, self._last_placement
        up = _standing_up(xyz)
        if up is not None and not self._camera.fixed:
            self._camera.up_sum = self._camera.up_sum + up
        level = self._camera.level()
        rel = camera_to_room(body, level, 0.0)  # hip-centred, room axes
        hips0 = camera_to_room(hips_cam, level, 0.0)  # camera at the origin
        foot_low = _lowest(rel)
        feet_seen = float(np.min(frame.visibility[[i for foot in _FEET for i in foot]])) >= cfg.solver_cut
        if feet_seen and not self._camera.fixed:
            lowest = min((i for foot in _FEET for i in foot), key=lambda i: rel[i][1])
            self._camera.feet.append(hips_cam + body[lowest])
        cam_h = self._camera.height_m()
        if cam_h is None:
            cam_h = -(hips0[1] + float(foot_low.min()))
        hips = hips0 + np.array([0.0, cam_h, 0.0])
        heights = hips[1] + foot_low
        ends = np.array([[rel[heel][1], rel[toe][1]] for _, heel, toe in _FEET]).reshape(-1)
        above = np.repeat(heights, 2) - (cfg.step_m - cfg.contact.height_m)  # feet well above the floor: a jump
        ends_planted = self._contacts(
            frame.t_s, np.maximum(ends - ends.min(), above), self._across(frame, camera, hips_cam)
        )
        feet_planted = np.asarray(ends_planted.reshape(2, 2).any(axis=1))  # a heel or a toe
        xyz, lift = self._stand(frame, feet_planted, float(hips[1]), heights, xyz, rel, level, scale)
        if not self._offline and self._last_t_path is not None and frame.t_s > self._last_t_path:
            hips = self._path_filter(frame.t_s, hips)  # live: the travel, One-Euro smoothed (depth wavers)
        elif not self._offline:
            self._path_filter.reset()
            hips = self._path_filter(frame.t_s, hips)
        self._last_t_path = frame.t_s
        confidence = float(np.min(frame.visibility[list(_TORSO)])) * (1.0 if feet_seen else 0.5)
        placement = Placement(hips, "camera", confidence, lift, height, planted=self._planted)
        self._last_placement = placement
        return xyz, placement

    def _place_triangulated(self, frame: LandmarkFrame, xyz: FloatArray) -> tuple[FloatArray, Placement]:
        """The placement of a frame several calibrated cameras placed (:mod:`bridge.multiview.fuse`: metric
        landmarks in the levelled reference camera's frame, the hips in the room over the calibrated floor): kept
        as triangulated; planted feet from the triangulated heels and toes (their heights above that floor and
        their speed in the room), the lift and the flat feet as for one camera."""
        cfg = self.config
        given = frame.placement
        assert given is not None
        _, height = self._scale(xyz)  # the triangulated body is metric: only the person's height is wanted
        rel = camera_to_room(xyz, _LEVELLED, 0.0)  # hip-centred, room axes
        hips = np.asarray(given.hips_m, dtype=np.float64)
        heights = hips[1] + _lowest(rel)
        above = heights - (cfg.step_m - cfg.contact.height_m)
        middle = np.stack([hips + rel[list(foot)].mean(axis=0) for foot in _FEET]) * np.array([1.0, 0.0, 1.0])
        planted = self._feet_contacts(frame.t_s, np.maximum(heights - heights.min(), above), middle)
        xyz, lift = self._stand(frame, planted, float(hips[1]), heights, xyz, rel, _LEVELLED, 1.0)
        placement = dataclasses.replace(given, lift_m=lift, height_m=height, planted=self._planted)
        self._last_placement = placement
        return xyz, placement

    def _stand(
        self,
        frame: LandmarkFrame,
        planted: npt.NDArray[np.bool_],
        hips_y: float,
        heights: FloatArray,
        xyz: FloatArray,
        rel: FloatArray,
        level: FloatArray,
        scale: float,
    ) -> tuple[FloatArray, float]:
        """What planted feet make of the frame, either placement: ``planted`` (2,) kept only for a foot the frame
        shows (visibility ≥ ``soft_min``: one hidden foot does not stop the other), the lift above the floor
        (:meth:`_lift`, ``heights``: each foot's lowest point above it; ``hips_y``: the hips') and the flat feet
        (:meth:`_flat_feet`; ``rel``: hip-centred room-axes landmarks, metres)."""
        soft_min = self.config.soft_min
        seen = np.array([float(np.min(frame.visibility[list(foot)])) >= soft_min for foot in _FEET])
        planted = planted & seen
        self._planted = (bool(planted[0]), bool(planted[1]))
        lift = self._lift(planted, heights)
        return self._flat_feet(xyz, rel, hips_y, planted, level, scale), lift

    def _across(self, frame: LandmarkFrame, camera: PinholeCamera, hips_cam: FloatArray) -> FloatArray:
        """(4, 2) metres: the left heel, left toe, right heel, right toe as the image moves them, in metres
        across the view at the body's usual depth (the median of recent frames'): each frame adds its pixel
        motion × depth / focal length (so a change of the depth does not read as motion).

        A foot's speed for contact detection comes from here, not from the placed body: a single camera's depth
        wavers by 6 % a frame (27 cm at 4.4 m), which read every planted foot as moving.
        """
        self._depths.append(float(hips_cam[2]))
        px = to_pixels(frame.image_xy, frame.image_size)
        ends = np.stack([px[i] for _, heel, toe in _FEET for i in (heel, toe)])
        if self._last_ends_px is not None:
            metres_per_px = self._depths.median() / camera.fx_px
            self._across_m = self._across_m + (ends - self._last_ends_px) * metres_per_px
        self._last_ends_px = ends
        return self._across_m.copy()

    def _flat_feet(
        self,
        xyz: FloatArray,
        rel: FloatArray,
        hips_y: float,
        planted: npt.NDArray[np.bool_],
        level: FloatArray,
        scale: float,
    ) -> FloatArray:
        """Feet pitched so that this person's flat foot is the rig's flat foot.

        MediaPipe's ankle → toe-tip line of a foot standing flat slopes down more than a rig's (its ankle point
        sits higher, its toe point further on), so a flat foot came out toes-down and grounding lifted the
        ankles 6–11 cm. The slope of planted feet whose heel and toe are on the floor is learned (median), and
        every frame's toe point turned up about the ankle by its difference from ``rig_foot_slope_deg``.
        """  # fmt: skip
        cfg = self.config
        if cfg.rig_foot_slope_deg is None:
            return xyz
        slopes = []
        for f, (ankle, heel, toe) in enumerate(_FEET):
            v = rel[toe] - rel[ankle]
            slopes.append(math.degrees(math.atan2(-v[1], max(math.hypot(v[0], v[2]), 1e-9))))
            if planted[f] and hips_y + max(rel[heel][1], rel[toe][1]) < cfg.contact.height_m:
                self._foot_slopes.append(slopes[-1])
                self._all_slopes.append(slopes[-1])
        if len(self._foot_slopes) < 5:
            return xyz
        turn = self._foot_slopes.median() - cfg.rig_foot_slope_deg
        xyz = xyz.copy()
        for f, (ankle, _, toe) in enumerate(_FEET):
            v = rel[toe] - rel[ankle]
            horiz, length = max(math.hypot(v[0], v[2]), 1e-9), float(np.linalg.norm(v))
            a = math.radians(slopes[f] - turn)
            tip = rel[ankle] + np.array([v[0] / horiz * length * math.cos(a), -length * math.sin(a),
                                         v[2] / horiz * length * math.cos(a)])  # fmt: skip
            xyz[toe] = room_to_camera(tip, level, 0.0) / scale
        return xyz

    def _lift(self, planted: npt.NDArray[np.bool_], heights: FloatArray) -> float:
        """Metres the body stands above the floor: on what a planted foot stands on (the floor, or a step or box
        higher than ``step_m``: the lowest that foot has been since it landed), else what the camera sees
        (``heights``: each foot's lowest point above the floor), never below 0.

        A planted foot stands until it rises ``contact.height_m`` above where it landed (a take-off the contact
        detector has not yet seen). Measured from the floor instead, a foot on the floor whose measured height
        was off by more than that (a low camera's depth error: 10–15 cm at 7 m) read as leaving the ground,
        and the body floated above the floor while it stood (rendered CMU 01_01, its first 0.4 s).
        """
        lift = max(0.0, float(np.min(heights)))
        for f in range(2):
            if not planted[f]:
                self._surfaces[f] = math.inf
            else:
                self._surfaces[f] = min(self._surfaces[f], float(heights[f]))
        if planted.any():
            landed = float(np.min(self._surfaces[planted]))
            if lift <= landed + self.config.contact.height_m:  # standing (not leaving the ground)
                lift = landed if landed > self.config.step_m else 0.0
        return lift

    # -- the stage -----------------------------------------------------------------------------------------

    def __call__(self, frame: LandmarkFrame) -> LandmarkFrame:
        cfg = self.config
        if not frame.person:
            if frame.t_s - self._last_seen_s > 1.0:
                self._forget_person()
            return frame
        self._last_seen_s = frame.t_s
        if self._started_s is None:
            confident = self._confident(frame)
            self._streak = self._streak + 1 if confident else 0
            if self._streak == 1:
                self._streak_from_s = frame.t_s
            early = confident and frame.t_s in self._early_starts  # offline: the streak is known to hold
            if not early and self._streak < (cfg.restart_frames if self._ever_started else cfg.startup_frames):
                held = LandmarkFrame.no_person(frame.t_s, frame.image_size, frame.frame_index)
                return held.replace(flags={**frame.flags, STARTING_FLAG: True}, hands=frame.hands, face=frame.face)
            self._started_s = frame.t_s
            self._ever_started = True
            if self._starts_s is not None:
                self._starts_s.append(self._streak_from_s)
        xyz, vis = frame.world_xyz_m, frame.visibility
        xyz, vis = self._soften(xyz, vis)
        fixed = (LEG_OK, LEG_OK)
        if cfg.plausible is not None:
            xyz, self._bends, fixed = plausible_legs(xyz, self._bends, cfg.plausible)
            for side in np.flatnonzero(np.array(fixed) == LEG_IMPOSSIBLE):
                below = [i for i in LEGS[side][1:] if vis[i] >= cfg.solver_cut]
                vis = vis.copy()
                vis[below] = np.nextafter(cfg.solver_cut, 0.0)  # not driven: the solver holds the last plausible
        xyz, placement = self._place(frame, xyz)
        self._previous = xyz
        ease = min(1.0, (frame.t_s - self._started_s) / cfg.ease_in_s) if cfg.ease_in_s > 0 else 1.0
        flags = {**frame.flags, LEGS_FIXED_FLAG: fixed, EASE_IN_FLAG: ease, CONTACT_FLAG: self._planted}
        return frame.replace(world_xyz_m=xyz, visibility=vis, placement=placement, flags=flags)

    def offline(self, frames: Sequence[LandmarkFrame]) -> list[LandmarkFrame]:
        """A whole clip: the camera's tilt and floor from all of it first, then every frame with them fixed, the
        hips' path and lift low-passed zero-phase (``lowpass_hz``) over each run of placed frames. The person
        starts at the first frame of each confident streak (the live stage, which cannot look ahead, waits for
        the streak's last: a runner it held moved on 85 cm by then), and keeps one size, the clip's median (live:
        the median of the last 60 frames; rendered mocap from one camera, root path 98.3 → 89.2 cm summed over
        five clips). Between two planted frames less than a second apart the body flies: its travel over the
        floor is a straight line (:func:`~bridge.stages.flight.ballistic_flights`); the frames before a contact
        that the live detector could not yet tell stand on its surface and are planted
        (:func:`~bridge.stages.contacts.early_landings`, :func:`~bridge.stages.contacts.early_contacts`)."""
        clip_size = _clip_size(frames)
        probe = BodyState(self.config)
        probe._clip_size = clip_size  # the floor is gathered from bodies of the size the clip is placed with
        probe._starts_s = []
        for frame in frames:
            probe(frame)
        self.reset()
        self._early_starts = frozenset(probe._starts_s or ())
        self._camera = CameraFloor(up_sum=probe._camera.up_sum, feet=probe._camera.feet, fixed=True)
        self._slope_seed = list(probe._all_slopes)
        self._clip_size = clip_size
        self._offline = True
        self._forget_person()
        out = [self(frame) for frame in frames]
        self._offline = False
        out = ballistic_flights(early_landings(out, self.config.contact))
        out = _lowpass_placements(out, self.config.lowpass_hz, self.config.path_lowpass_hz)
        return early_contacts(out, self.config.contact)


def _clip_size(frames: Sequence[LandmarkFrame]) -> tuple[float, FloatArray] | None:
    """One person, one size: the height (legs and trunk, metres) and (4,) thigh and shank lengths (metres) of
    the clip's median; None without a person."""
    lengths = np.array([_body_lengths_m(f.world_xyz_m) for f in frames if f.person]).reshape(-1, 5)
    lengths = lengths[np.isfinite(lengths).all(axis=1)]
    if not len(lengths):
        return None
    height = float(np.median(_leg_trunk_m(lengths))) * _HEIGHT_PER_LEG_TRUNK
    return height, np.median(lengths[:, :4], axis=0)


def _lowpass_placements(frames: list[LandmarkFrame], cutoff_hz: float, path_hz: float) -> list[LandmarkFrame]:
    """The frames with each continuous run of placements low-passed (2nd-order Butterworth, forwards and back):
    the travel over the floor (x, z) at ``path_hz`` (a triangulated one at ``cutoff_hz``: it is measured, not
    guessed from the body's size), the height and lift at ``cutoff_hz``."""
    from scipy.signal import butter, filtfilt

    t = np.array([f.t_s for f in frames])
    dt = np.diff(t)
    dt = dt[dt > 0]
    if not cutoff_hz or dt.size == 0 or not 0 < cutoff_hz / (0.5 / float(np.median(dt))) < 1:
        return frames
    nyquist = 0.5 / float(np.median(dt))
    b, a = butter(2, cutoff_hz / nyquist)
    bp, ap = butter(2, min(path_hz / nyquist, 0.99))
    placed = np.array([f.placement is not None and f.person for f in frames])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], placed.astype(int), [0]])))
    out = list(frames)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < 10:
            continue
        run = [out[k].placement for k in range(start, stop)]
        path = np.array([[*p.hips_m, p.lift_m] for p in run if p is not None])
        smooth = filtfilt(b, a, path, axis=0, padlen=min(6, len(path) - 1))
        if any(p is not None and p.source != "triangulated" for p in run):  # a triangulated path is measured
            smooth[:, [0, 2]] = filtfilt(bp, ap, path[:, [0, 2]], axis=0, padlen=min(6, len(path) - 1))
        for k, p, row in zip(range(start, stop), run, smooth, strict=True):
            assert p is not None
            new = dataclasses.replace(p, hips_m=row[:3], lift_m=max(0.0, float(row[3])))
            out[k] = out[k].replace(placement=new)
    return out


def rig_foot_slope_deg(rig: Rig) -> float | None:
    """Degrees the rig's left ankle → toe tip line slopes down at rest (None without toes)."""
    if not rig.has("LeftToes") or not rig.has("LeftFoot"):
        return None
    rest = rig.rest_world_m
    tip = rest[rig.index("LeftToes")] + rig.tails_m.get("LeftToes", np.zeros(3))
    v = tip - rest[rig.index("LeftFoot")]
    return math.degrees(math.atan2(-float(v[1]), math.hypot(float(v[0]), float(v[2]))))


def ease_in_pose(pose: BonePose, weight: float) -> BonePose:
    """``pose`` with every local rotation taken ``weight`` (0..1) of the way from rest (the ease-in)."""
    if weight >= 1.0:
        return pose
    from scipy.spatial.transform import Rotation

    rotations = Rotation.from_rotvec(pose.local_rotations.as_rotvec() * max(weight, 0.0))
    return dataclasses.replace(pose, local_rotations=rotations)
