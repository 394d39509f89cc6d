"""Settings of the body solver (:mod:`bridge.solve.body`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolverConfig:
    """Settings of the solver.

    Attributes:
        min_visibility: landmarks below this visibility do not drive bones.
        hold_s: how long an untracked bone keeps its last tracked rotation.
        ease_s: how long it then takes to ease back to rest.
        elbow_range_deg: allowed elbow flexion (0 = straight).
        knee_range_deg: allowed knee flexion (0 = straight).
        forearm_twist_range_deg: allowed forearm pronation/supination away from the T-pose (palm down).
        shoulder_max_deg: largest clavicle rotation away from rest.
        hand_max_deg: largest wrist rotation (flexion/deviation) away from rest.
        foot_max_deg: largest ankle rotation away from rest.
        head_pitch_offset_deg: how far the nose sits below the ears' line when looking straight ahead, as an
            angle seen from the ears' mid-point (MediaPipe's ear points sit near the tragus). Measured on
            MediaPipe's world landmarks of the Sports2D demo: median 9.1° relative to the trunk (221 frames).
        straight_limb_deg: below this flexion, a limb's bend direction is blended with a prior (the rest
            pole carried by the limb's swing, and the foot for legs), since it is not observable.
        ground: keep the lowest foot point at its rest height (the hips move down when the user crouches).
        idle_arms_down_deg: the pose an unseen bone eases to is the rest pose (the T-pose) but for the upper
            arms, which hang this far below the T (0: the T-pose): a VTuber's hands below the camera's view, an
            arm hidden behind the body, or nobody in view leave the arms at the sides, not sticking out.
        root_motion: ``off``, ``planar`` or ``full``: whether the hips travel (and rise) as the frames'
            placements say (:mod:`bridge.solve.root_motion`; frames without a placement stay put).
        foot_lock: with root motion, bend and swing each planted leg so that its foot stays where it was planted
            (:mod:`bridge.solve.foot_lock`); the legs' angles then answer to the feet as well as the landmarks.
    """

    min_visibility: float = 0.5
    hold_s: float = 0.5
    ease_s: float = 1.0
    elbow_range_deg: tuple[float, float] = (0.0, 155.0)
    knee_range_deg: tuple[float, float] = (0.0, 160.0)
    forearm_twist_range_deg: tuple[float, float] = (-100.0, 100.0)
    shoulder_max_deg: float = 30.0
    hand_max_deg: float = 80.0
    foot_max_deg: float = 70.0
    head_pitch_offset_deg: float = 10.0
    straight_limb_deg: float = 30.0
    ground: bool = True
    root_motion: str = "off"
    idle_arms_down_deg: float = 70.0
    foot_lock: bool = True
