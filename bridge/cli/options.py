"""Everything the ``bridge`` commands share on their command lines: small value parsers, the input options
(``--input``, ``--model``, ``--track`` …), the pose options (``--rig``, ``--avatar``, ``--mirror``, filter …) and
the settings they select, and the ``bridge: …`` note printer.

Each parser turns a bad value into an ``argparse.ArgumentTypeError`` whose message says what was expected, so
argparse reports it as one line (``bridge stream: error: argument --rate: expected …``) with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.app.processor import ProcessorConfig
from bridge.avatar.load import load_rig_or_avatar
from bridge.avatar.read import read_avatar
from bridge.core.errors import BridgeError
from bridge.core.rig import Rig
from bridge.multiview.single import load_single_camera
from bridge.output.vmc import NORMALIZED, ORIGINAL
from bridge.solve.body_config import SolverConfig
from bridge.solve.face import FaceConfig
from bridge.solve.hands import HandConfig
from bridge.stages.body_state import ROOT_MOTION_CHOICES, BodyStateConfig
from bridge.stages.camera_model import DEFAULT_FOV_DEG
from bridge.stages.filter import OneEuroConfig
from bridge.stages.flips import FlipRepairConfig
from bridge.stages.lifter import LIFTER_CHOICES, REFINE_CAUSAL_MODEL, LifterConfig
from bridge.tracking.config import CONCURRENCY_MODES, TrackerConfig, parse_track
from bridge.tracking.person import PERSON_POLICIES
from bridge.tracking.sources import camera_available, parse_camera_size

#: The tracker's defaults, which the options below and :func:`tracker_config_from_args` take from it.
_TRACKER = TrackerConfig()

#: Frame rate of BVH output when neither --fps nor the input says one.
DEFAULT_EXPORT_FPS = 30.0


def note(message: str) -> None:
    """A ``bridge: ...`` status line on stderr (stdout stays for data)."""
    print(f"bridge: {message}", file=sys.stderr, flush=True)


def int_in(lo: int, hi: int | None = None, what: str = "whole number") -> Callable[[str], int]:
    """A parser for whole numbers from ``lo`` to ``hi`` (no upper bound when ``hi`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            span = f"at least {lo}" if hi is None else f"from {lo} to {hi}"
            raise argparse.ArgumentTypeError(f"expected a {what} {span}, got {text!r}")
        return value

    return parse


def float_in(lo: float, hi: float, what: str = "number", lo_open: bool = False) -> Callable[[str], float]:
    """A parser for numbers from ``lo`` to ``hi`` (``lo`` itself excluded when ``lo_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if not (lo < value if lo_open else lo <= value) or not value <= hi:
            span = f"above {lo:g}" if lo_open else f"at least {lo:g}"
            if hi != float("inf"):
                span = f"{span} and at most {hi:g}" if lo_open else f"from {lo:g} to {hi:g}"
            raise argparse.ArgumentTypeError(f"expected a {what} {span}, got {text!r}")
        return value

    return parse


#: Whole numbers ≥ 1 (frame counts).
positive_int = int_in(1, None, "whole number")
#: Numbers > 0 (frame rates).
positive_float = float_in(0.0, float("inf"), "number", lo_open=True)
#: Output frame rates (``--fps``, ``--record-fps``).
fps_value = float_in(1.0, 1000.0, "frame rate in frames per second")


# --------------------------------------------------------------------------------------------------------------
# Input options


class _InputAction(argparse.Action):
    """``--input`` given once or several times: ``args.input`` is the first, ``args.inputs_all`` every one."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:  # fmt: skip
        every = [*(getattr(namespace, "inputs_all", None) or []), str(values)]
        namespace.inputs_all = every
        namespace.input = every[0]


def add_input_args(parser: argparse.ArgumentParser) -> None:
    """Add the options every command that reads an input shares: ``--input``, ``--model``, ``--image-fps``."""
    group = parser.add_argument_group("input")
    group.add_argument(
        "--input",
        "-i",
        metavar="X",
        default=None,
        action=_InputAction,
        help="camera, camera:N, N (webcam number), a video file, a folder of images, a bridge recording "
        "(.jsonl) or demo; default: camera 0 if there is one, else the Sports2D demo clip. Give it 2-4 times "
        "with --calibration for several views (bridge record)",
    )
    group.add_argument(
        "--calibration",
        metavar="FILE[:CAMERA]",
        default=None,
        help="the cameras of several --input: a camera TOML (anipose/Pose2Sim/FreeMoCap) or Qualisys .qca.txt; "
        "with one --input, that camera's intrinsics for where the body stands (CAMERA: which of the file's "
        "cameras, default the one named like the input), instead of --fov",
    )
    group.add_argument(
        "--model",
        metavar="PATH",
        type=Path,
        default=None,
        help="MediaPipe pose landmarker .task file (lite/full/heavy); default: the bundled full model",
    )
    group.add_argument(
        "--image-fps",
        metavar="FPS",
        type=positive_float,
        default=30.0,
        help="frame rate assigned to a folder of images (default 30)",
    )
    group.add_argument(
        "--track",
        metavar="PARTS",
        type=_track_parts,
        default=("body",),
        help="what to track, comma-separated from body, hands, face (e.g. body,hands,face: fingers, facial "
        "expressions, head and eyes); the body always runs (default body)",
    )
    group.add_argument(
        "--concurrency",
        choices=CONCURRENCY_MODES,
        default=_TRACKER.concurrency,
        help="with hands or face: pipelined (default: pose, hands and face at once, the crops placed by the "
        "previous frame's pose: about 1.3x the frame rate of threads, fewer hands found in fast motion), threads "
        "(hands and face at the same time, after the pose) or sequential",
    )
    group.add_argument(
        "--hand-every", metavar="N", type=int_in(1, 10, "frames"), default=_TRACKER.hand_every,
        help="with hands: run each hand's model on every N-th frame only, the two hands on different frames "
        "(2, the default: one hand a frame), the other frames moving its last fingers with the wrist; 1: every "
        "frame",
    )  # fmt: skip
    group.add_argument(
        "--face-every", metavar="N", type=int_in(1, 10, "frames"), default=_TRACKER.face_every,
        help="with face: run the face model on every N-th frame only, the expressions in between extrapolated "
        "from its last two results (default 1)",
    )  # fmt: skip
    group.add_argument(
        "--no-second-look", action="store_true",
        help="do not look again in parts of the frame where the pose model finds nobody (the second look finds "
        "people too small for its detector, far from the camera; it costs a second inference on those frames: "
        "on the Sports2D demo 0.97 -> 0.85 of the frame rate, 95th-percentile latency 31 -> 48 ms)",
    )  # fmt: skip
    add_person_args(group)
    group.add_argument(
        "--camera-size", metavar="WxH", type=_camera_size, default=None,
        help="ask the camera for this frame size, e.g. 1280x720 (bridge says what it delivers; `bridge cameras` "
        "lists its modes)",
    )  # fmt: skip
    group.add_argument(
        "--camera-fps", metavar="N", type=float_in(1, 1000, "frame rate"), default=None,
        help="ask the camera for this frame rate, e.g. 60",
    )  # fmt: skip


def add_person_args(group: argparse._ArgumentGroup) -> None:
    """``--person`` and ``--people``: whom the tracker follows (see :mod:`bridge.tracking.person`)."""
    group.add_argument(
        "--people", type=int_in(1, 6, "number of people"), default=1, metavar="N",
        help="how many people the pose model looks for (default 1). bridge always keeps following the person "
        "it started with and says when it loses them, never switching silently; with 2 or more it can also "
        "follow that person through the model's jumps to someone else, at about 1.8x the model's time",
    )  # fmt: skip
    group.add_argument(
        "--person", choices=PERSON_POLICIES, default="largest",
        help="with --people 2 or more: whom to follow from the start, the largest (default), the one nearest "
        "the image centre, or the model's first",
    )  # fmt: skip


def _camera_size(text: str) -> tuple[int, int]:
    """``--camera-size`` value → (width, height) (see :func:`bridge.tracking.sources.parse_camera_size`)."""
    try:
        return parse_camera_size(text)
    except BridgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _track_parts(text: str) -> tuple[str, ...]:
    """``--track`` value → the parts to track (see :func:`bridge.tracking.config.parse_track`)."""
    try:
        return parse_track(text)
    except BridgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def tracker_config_from_args(args: argparse.Namespace) -> TrackerConfig:
    """The :class:`TrackerConfig` selected by the options of :func:`add_input_args`."""
    return TrackerConfig(
        model_path=getattr(args, "model", None),
        image_fps=getattr(args, "image_fps", 30.0),
        track=tuple(getattr(args, "track", ("body",))),
        num_poses=getattr(args, "people", 1),
        person=getattr(args, "person", "largest"),
        camera_size=getattr(args, "camera_size", None),
        camera_fps=getattr(args, "camera_fps", None),
        concurrency=getattr(args, "concurrency", _TRACKER.concurrency),
        hand_every=getattr(args, "hand_every", _TRACKER.hand_every),
        face_every=getattr(args, "face_every", _TRACKER.face_every),
        zoom=_TRACKER.zoom and not getattr(args, "no_second_look", False),
    )


def several_inputs(args: argparse.Namespace) -> bool:
    """Whether ``--input`` was given more than once (``--calibration`` then names every view's camera)."""
    return len(getattr(args, "inputs_all", None) or []) > 1


def resolve_views(args: argparse.Namespace) -> tuple[str, ...]:
    """Every ``--input`` when there are several (to triangulate with ``--calibration``), else ``()``."""
    every = tuple(getattr(args, "inputs_all", None) or ())
    if len(every) < 2:
        return ()
    if getattr(args, "calibration", None) is None:
        raise BridgeError("several --input need --calibration FILE (a camera TOML or Qualisys .qca.txt)")
    return every


def resolve_input(args: argparse.Namespace) -> str:
    """The input string to open: ``--input``, else camera 0 if one exists, else the demo clip (said on stderr)."""
    if several_inputs(args):
        raise BridgeError(
            "several --input are triangulated by bridge record, stream, export and view (with --calibration); for "
            "this command record them first, then give the recording as the one --input"
        )
    if args.input is not None:
        return str(args.input)
    if camera_available(0):
        note("no --input given: using camera 0")
        return "camera:0"
    note("no --input given and no camera found: using the Sports2D demo clip (pass --input to choose)")
    return "demo"


# --------------------------------------------------------------------------------------------------------------
# Pose options


def add_pose_args(parser: argparse.ArgumentParser) -> None:
    """Options of the landmark → pose chain, shared by every command that solves poses."""
    group = parser.add_argument_group("pose")
    group.add_argument(
        "--rig", default="default", help="rig name in avatars/ or a rig .json file (default: default)"
    )
    group.add_argument(
        "--avatar", metavar="FILE", default=None,
        help="your avatar (.vrm VRM 0.x/1.0, .glb, .gltf): use its skeleton's proportions as the rig "
        "(takes precedence over --rig)",
    )  # fmt: skip
    group.add_argument(
        "--mirror", action="store_true", help="the avatar mirrors you (your right hand moves its left)"
    )
    group.add_argument(
        "--hold",
        type=float_in(0, 60),
        default=0.5,
        metavar="S",
        help="seconds a lost bone (or person) holds its last pose before easing to rest (default 0.5)",
    )
    group.add_argument(
        "--ease",
        type=float_in(0, 60),
        default=1.0,
        metavar="S",
        help="seconds to ease back to the rest pose after the hold (default 1.0)",
    )
    group.add_argument(
        "--idle-arms",
        type=float_in(0, 90),
        default=SolverConfig().idle_arms_down_deg,
        metavar="DEG",
        help="unseen arms (or nobody in view) ease to hang this far below the T-pose; 0: the T-pose "
        "(default %(default)g)",
    )
    group.add_argument(
        "--min-cutoff",
        type=float_in(0.01, 100),
        default=OneEuroConfig().min_cutoff_hz,
        metavar="HZ",
        help="One-Euro cutoff at rest: lower = smoother, more lag (default %(default)s)",
    )
    group.add_argument(
        "--beta",
        type=float_in(0, 1000),
        default=OneEuroConfig().beta,
        metavar="PER_M",
        help="One-Euro speed coefficient: higher = less lag in fast moves (default %(default)s)",
    )
    group.add_argument("--no-filter", action="store_true", help="do not smooth the landmarks")
    group.add_argument("--no-flip-repair", action="store_true", help="do not repair MediaPipe's left/right swaps")
    group.add_argument("--lifter", choices=LIFTER_CHOICES, default="mediapipe",
                       help="3-D landmarks from MediaPipe's world output, from the temporal lifter over the "
                       "last 27 frames of 2-D landmarks, or MediaPipe's refined by a temporal network trained on "
                       "its errors (refine; README, Temporal lifter) (default %(default)s)")  # fmt: skip
    add_world_args(group)


def add_world_args(group: argparse._ArgumentGroup) -> None:
    """``--root-motion``, ``--fov``, ``--height``: where the body stands (:mod:`bridge.stages.body_state`)."""
    group.add_argument(
        "--root-motion", choices=ROOT_MOTION_CHOICES, default=None,
        help="the hips travel over the floor (planar) and rise in jumps and climbs (full), or stay above the "
        "origin (off); default off for live streams (an avatar at a desk stays put), planar for export and batch",
    )  # fmt: skip
    group.add_argument(
        "--no-foot-lock", action="store_true",
        help="with root motion, let planted feet go where the legs' landmarks put them instead of bending the "
        "legs a little to keep each planted foot where it stands (the legs' angles then follow the landmarks "
        "alone)",
    )  # fmt: skip
    group.add_argument(
        "--fov", type=float_in(1, 179, "field of view in degrees"), default=DEFAULT_FOV_DEG, metavar="DEG",
        help="the camera's horizontal field of view, for where the body stands (default %(default)s: a webcam)",
    )  # fmt: skip
    group.add_argument(
        "--height", type=float_in(0.5, 2.5, "height in metres"), default=None, metavar="M",
        help="your height in metres: for how far you are from the camera (default: MediaPipe's estimate) and, "
        "in stream, VRChat tracker positions are scaled to it (default there 1.7)",
    )  # fmt: skip


def rig_from_args(args: argparse.Namespace) -> Rig:
    """The rig chosen with :func:`add_pose_args`: ``--avatar`` (read with :func:`bridge.avatar.read.read_avatar`)
    if given, else ``--rig``. Every command that uses ``add_pose_args`` gets its rig here."""
    avatar = getattr(args, "avatar", None)
    if avatar:
        return read_avatar(avatar)
    return load_rig_or_avatar(getattr(args, "rig", "default"))


def processor_config_from_args(args: argparse.Namespace, root_motion: str = "off") -> ProcessorConfig:
    """The landmark → pose settings chosen with :func:`add_pose_args`; ``root_motion`` is the command's default
    for ``--root-motion``."""
    chosen = getattr(args, "root_motion", None) or root_motion
    return ProcessorConfig(
        flips=None if args.no_flip_repair else FlipRepairConfig(),
        filter=None if args.no_filter else OneEuroConfig(min_cutoff_hz=args.min_cutoff, beta=args.beta),
        mirror=args.mirror,
        solver=SolverConfig(
            hold_s=args.hold,
            ease_s=args.ease,
            root_motion=chosen,
            idle_arms_down_deg=args.idle_arms,
            foot_lock=not getattr(args, "no_foot_lock", False),
        ),
        body=_body_state_config(args),
        lifter=_lifter_config(getattr(args, "lifter", "mediapipe")),
        hands=HandConfig(hold_s=args.hold, ease_s=args.ease),
        face=FaceConfig(hold_s=args.hold, ease_s=args.ease, names=getattr(args, "blendshapes", "vrm0")),
    )


def _lifter_config(choice: str) -> LifterConfig | None:
    """``--lifter``: None (MediaPipe's world landmarks), the 2-D temporal lifter, or the refiner."""
    if choice == "temporal":
        return LifterConfig()
    if choice == "refine":
        return LifterConfig(model=REFINE_CAUSAL_MODEL)
    return None


def _body_state_config(args: argparse.Namespace) -> BodyStateConfig:
    """The body-state settings of :func:`add_world_args` (the calibration read here: a bad file is one line)."""
    calibration = getattr(args, "calibration", None)
    input_name = getattr(args, "source", None) or getattr(args, "input", None)
    camera = load_single_camera(calibration, input_name) if calibration and not several_inputs(args) else None
    fov = getattr(args, "fov", DEFAULT_FOV_DEG)
    return BodyStateConfig(fov_deg=fov, camera=camera, height_m=getattr(args, "height", None))


def resolve_bone_space(choice: str, rig: Rig) -> str:
    """``--bone-space``: ``auto`` is ``original`` for a VRM 1.0 avatar whose bone nodes are rotated at rest (what
    EVMC4U, its default receiver, writes onto), else ``normalized``; said once when the avatar has rest
    rotations, so the user knows which receivers fit."""
    original = rig.original
    if original is None or not original.has_rest_rotations:
        return NORMALIZED if choice == "auto" else choice
    space = choice if choice != "auto" else (ORIGINAL if original.kind == "vrm1" else NORMALIZED)
    other = NORMALIZED if space == ORIGINAL else ORIGINAL
    fits = {
        ORIGINAL: "receivers that write onto the model's own bones: EVMC4U with VRM 1.0, VMC4UE",
        NORMALIZED: "receivers that retarget a normalised pose: VMC4B, EVMC4U with a control rig",
    }
    note(
        f"avatar {rig.name}: its bones are rotated at rest; VMC bones go in its {space} bone space "
        f"({fits[space]}); --bone-space {other} for {fits[other].split(': ')[1]}"
    )
    return space
