"""BVH export of solved motion (bridge/export.py, ``bridge export``, ``bridge stream --record-bvh``).

Checked three independent ways: our own BVH forward kinematics, an independent BVH reader from PyPI (``bvhio``,
its own Euler → quaternion code) for the local rotations, and Blender itself importing the file headless
(world joint positions against :func:`bridge.core.rig.forward_kinematics`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.processor import Processor
from bridge.cli.main import build_parser
from bridge.cli.options import processor_config_from_args
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, forward_kinematics, load_rig
from bridge.export.bvh import (
    FRAME_COUNT_WIDTH,
    BvhExportConfig,
    BvhRecorder,
    MotionResampler,
    bvh_layout,
    channels_to_local_rotations,
    export_bvh,
    motion_channels,
    poses_to_bvh,
    resample_poses,
    unwrap_degrees,
)
from bridge.export.bvh_file import format_bvh, parse_bvh, read_bvh
from bridge.export.bvh_kinematics import bvh_forward_kinematics, bvh_rest_positions
from bridge.tracking.recording import RecordingHeader, RecordingWriter, read_recording
from tests.conftest import REPO

FPS = 30.0


@pytest.fixture(scope="module")
def rig() -> Rig:
    return load_rig("default")


@pytest.fixture(scope="module")
def solved(sports2d_tracked: tuple[object, list[LandmarkFrame]], rig: Rig) -> list[BonePose]:
    """The real Sports2D demo, tracked by MediaPipe and solved by the stream's chain (default settings)."""
    _, frames = sports2d_tracked
    processor = Processor(rig)
    return [processor(f).pose for f in frames]


def on_grid(poses: list[BonePose], fps: float = FPS) -> list[BonePose]:
    """The same poses stamped exactly k / fps, so a BVH at ``fps`` holds them one-to-one (no interpolation)."""
    return [dataclasses.replace(p, t_s=k / fps) for k, p in enumerate(poses)]


def random_poses(rig: Rig, n: int, seed: int) -> list[BonePose]:
    rng = np.random.default_rng(seed)
    return [
        BonePose(
            t_s=k / FPS,
            rig=rig,
            hips_position_m=rig.offsets_m[0] + rng.normal(0.0, 0.3, 3),
            local_rotations=Rotation.random(len(rig), random_state=int(rng.integers(1 << 31))),
            bone_state=np.zeros(len(rig), dtype=np.int8),
        )
        for k in range(n)
    ]


def angle_between(a: Rotation, b: Rotation) -> np.ndarray:
    return (a.inv() * b).magnitude()


# ---------------------------------------------------------------------------------------------- the skeleton


@pytest.mark.parametrize("unit, scale", [("cm", 100.0), ("m", 1.0)])
def test_skeleton_is_the_rig_in_file_units(rig: Rig, unit: str, scale: float) -> None:
    layout = bvh_layout(rig, BvhExportConfig(unit=unit))
    sk = layout.skeleton
    assert sorted(sk.names) == sorted(rig.bones)
    assert sk.names[0] == "Hips" and sk.channels[0][:3] == ("Xposition", "Yposition", "Zposition")
    assert all(c == ("Zrotation", "Xrotation", "Yrotation") for c in sk.channels[1:])
    for j, name in enumerate(sk.names[1:], start=1):  # each joint's parent is the rig bone's parent
        assert sk.names[int(sk.parents[j])] == rig.parent_of(name)
    # Rest pose: BVH joints (root offset 0, Hips channel = its rest position) land on the rig's rest joints.
    rest_bvh, ends = bvh_rest_positions(sk)
    rest_rig = rig.rest_world_m[layout.bone_of_joint]
    np.testing.assert_allclose(rest_bvh + rest_rig[0] * scale, rest_rig * scale, atol=1e-9)
    for name, tail in rig.tails_m.items():
        np.testing.assert_allclose(ends[name], (rig.rest_world_m[rig.index(name)] - rest_rig[0] + tail) * scale,
                                   atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("unit", ["cm", "m"])
def test_bvh_forward_kinematics_matches_the_rig(rig: Rig, unit: str) -> None:
    poses = random_poses(rig, 12, seed=3)
    layout, motion = poses_to_bvh(poses, FPS, BvhExportConfig(unit=unit))
    fk = bvh_forward_kinematics(parse_bvh(format_bvh(layout.skeleton, motion.channels, motion.frame_time_s, 6)))
    for k, pose in enumerate(poses):
        pos, _ = forward_kinematics(rig, pose.local_rotations, pose.hips_position_m)
        scale = layout.config.scale
        np.testing.assert_allclose(fk.positions[k] / scale, pos[layout.bone_of_joint], atol=1e-6)


def test_channels_invert_exactly(rig: Rig) -> None:
    poses = random_poses(rig, 20, seed=5)
    layout = bvh_layout(rig)
    quats = np.stack([p.local_rotations.as_quat() for p in poses])
    hips = np.stack([p.hips_position_m for p in poses])
    rows = motion_channels(layout, quats, hips)
    back, hips_back = channels_to_local_rotations(layout, rows)
    assert angle_between(back, Rotation.from_quat(quats.reshape(-1, 4))).max() < 1e-9
    np.testing.assert_allclose(hips_back, hips, atol=1e-12)


def test_angles_are_unwrapped_so_a_spin_does_not_jump(rig: Rig) -> None:
    # Three full turns about Y in 1° steps: the raw Euler angles would jump from +180 to -180 six times.
    angles = np.radians(np.arange(0.0, 1080.0, 1.0))
    n = len(rig)
    quats = np.tile(Rotation.identity().as_quat(), (len(angles), n, 1))
    quats[:, 0] = Rotation.from_euler("Y", angles[:, None]).as_quat()
    layout = bvh_layout(rig)
    rows = motion_channels(layout, quats, np.zeros((len(angles), 3)))
    assert np.abs(np.diff(rows[:, 3:], axis=0)).max() < 1.5  # at most the 1° step (+ rounding)
    back, _ = channels_to_local_rotations(layout, rows)
    assert angle_between(back, Rotation.from_quat(quats.reshape(-1, 4))).max() < 1e-9
    # Across calls too (the recorder converts a few rows at a time).
    head = motion_channels(layout, quats[:500], np.zeros((500, 3)))
    tail = motion_channels(layout, quats[500:], np.zeros((len(angles) - 500, 3)), previous_row=head[-1])
    np.testing.assert_allclose(np.concatenate([head, tail]), rows, atol=1e-9)
    assert unwrap_degrees(np.array([[179.0], [-179.0]]))[1, 0] == pytest.approx(181.0)


# ---------------------------------------------------------------------------------------------- resampling


def test_resampler_known_answer_irregular_times(rig: Rig) -> None:
    """Angle and hips linear in time, sampled at jittered times: the grid values are the line's values."""
    rng = np.random.default_rng(11)
    t = np.cumsum(rng.uniform(0.02, 0.05, 80))
    axis = np.array([0.3, -0.8, 0.52]) / np.linalg.norm([0.3, -0.8, 0.52])
    omega = 2.0  # rad/s: under 0.1 rad between samples, so slerp between neighbours is exact on the line
    n = len(rig)
    poses = []
    for tk in t:
        rot = np.tile(Rotation.identity().as_quat(), (n, 1))
        rot[3] = Rotation.from_rotvec(axis * omega * (tk - t[0])).as_quat()
        poses.append(BonePose(float(tk), rig, np.array([0.5 * tk, 1.0, -tk]), Rotation.from_quat(rot),
                              np.zeros(n, dtype=np.int8)))  # fmt: skip
    fps = 24.0
    quats, hips = resample_poses(poses, fps)
    expected_n = math.floor((t[-1] - t[0]) * fps) + 1
    assert len(quats) == len(hips) == expected_n
    tg = t[0] + np.arange(expected_n) / fps
    want = Rotation.from_rotvec(axis[None] * (omega * (tg - t[0]))[:, None])
    assert angle_between(Rotation.from_quat(quats[:, 3]), want).max() < 1e-9
    np.testing.assert_allclose(hips, np.stack([0.5 * tg, np.ones_like(tg), -tg], axis=1), atol=1e-12)
    # Bones that never move stay exactly at identity.
    assert np.allclose(quats[:, 0], [0.0, 0.0, 0.0, 1.0])


def test_resampler_keeps_frames_with_rounded_timestamps(rig: Rig) -> None:
    # Recordings store times to the microsecond: 229/30 s is written 7.633333, just before the grid time.
    res = MotionResampler(30.0)
    q = np.tile([0.0, 0.0, 0.0, 1.0], (len(rig), 1))
    emitted = sum(len(res.push(round(k / 30.0, 6), q, np.zeros(3))[0]) for k in range(230))
    assert emitted == 229  # the last grid time is 0.3 µs after the last pose: only the end of the take tells
    assert len(res.push(7.0, q, np.zeros(3))[0]) == 0  # going back in time is ignored
    assert len(res.finish()[0]) == 1  # within GRID_SNAP of a frame: the last pose fills it
    late = MotionResampler(30.0)
    late.push(0.0, q, np.zeros(3))
    late.push(0.02, q, np.zeros(3))  # 0.6 of a frame: the grid time 1/30 s is not reached
    assert len(late.finish()[0]) == 0
    with pytest.raises(BridgeError):
        MotionResampler(0.0)


# ---------------------------------------------------------------------------------------------- round trip


def read_with_bvhio(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int, float]:
    """Per joint (T, 4) scalar-last local quaternions and (T, 3) positions, as the ``bvhio`` package reads them."""
    bvhio = pytest.importorskip("bvhio", reason="the test extra's independent BVH reader (pip install bvhio)")
    bvh = bvhio.readAsBvh(str(path))
    out = {}
    for joint, _, _ in bvh.Root.layout():
        q = np.array([[k.Rotation.x, k.Rotation.y, k.Rotation.z, k.Rotation.w] for k in joint.Keyframes])
        p = np.array([[k.Position.x, k.Position.y, k.Position.z] for k in joint.Keyframes])
        out[joint.Name] = (q, p)
    return out, int(bvh.FrameCount), float(bvh.FrameTime)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["sports2d", "random"])
def test_round_trip_through_an_independent_reader(
    tmp_path: Path, rig: Rig, solved: list[BonePose], which: str
) -> None:
    poses = on_grid(solved) if which == "sports2d" else random_poses(rig, 60, seed=7)
    path = tmp_path / "take.bvh"
    export_bvh(path, poses, FPS)
    joints, n_frames, frame_time = read_with_bvhio(path)
    assert n_frames == len(poses)
    assert frame_time == pytest.approx(1.0 / FPS, abs=1e-7)
    assert sorted(joints) == sorted(rig.bones)
    worst = 0.0
    for name, (q, p) in joints.items():
        want = Rotation.from_quat(np.stack([pose.rotation_of(name).as_quat() for pose in poses]))
        worst = max(worst, float(angle_between(Rotation.from_quat(q), want).max()))
        if name == "Hips":
            np.testing.assert_allclose(p / 100.0, np.stack([pose.hips_position_m for pose in poses]), atol=1e-6)
    assert worst < 1e-4
    if which == "sports2d":  # real motion, not a still pose: the check could fail
        assert any(angle_between(poses[0].local_rotations, p.local_rotations).max() > 0.5 for p in poses)


# ---------------------------------------------------------------------------------------------- Blender

BLENDER_SCRIPT = r"""
import builtins, json, sys
_open = builtins.open
# Debian's Blender 3.4 BVH importer opens files with mode 'rU', which Python 3.11 rejects: drop the 'U'.
builtins.open = lambda file, mode="r", *a, **k: _open(file, mode.replace("U", ""), *a, **k)
import bpy
path, out, frames, scale = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.import_anim.bvh(filepath=path, global_scale=float(scale), rotate_mode="NATIVE", frame_start=1,
                        axis_forward="-Z", axis_up="Y")
builtins.open = _open
arm = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"][0]
start, end = arm.animation_data.action.frame_range
res = {"bones": [b.name for b in arm.data.bones], "frame_range": [start, end], "heads": {}, "tails": {}}
for f in json.loads(frames):
    bpy.context.scene.frame_set(1 + f)
    res["heads"][str(f)] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
    res["tails"][str(f)] = {pb.name: list(arm.matrix_world @ pb.tail) for pb in arm.pose.bones}
with _open(out, "w") as fh:
    json.dump(res, fh)
"""


def run_blender(blender: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Blender headless with the system's PATH first: Debian's Blender finds its Python's home through the
    ``python3`` on PATH, and a virtualenv's or pyenv's there would give it a standard library without numpy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin:" + os.environ.get("PATH", "")
    return subprocess.run(
        [blender, "-b", "--factory-startup", "--python-exit-code", "1", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def blender_to_rig(xyz: np.ndarray) -> np.ndarray:
    """Blender world (Z up, importer defaults axis_forward=-Z, axis_up=Y) → rig frame: (x, y, z) = (X, Z, -Y)."""
    xyz = np.asarray(xyz)
    return np.stack([xyz[..., 0], xyz[..., 2], -xyz[..., 1]], axis=-1)


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["cm", "m"])
def test_blender_imports_the_export(tmp_path: Path, rig: Rig, solved: list[BonePose], unit: str) -> None:
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("Blender is not installed (Debian: apt-get install blender; install.sh --test does it)")
    poses = on_grid(solved)
    path = tmp_path / "take.bvh"
    config = BvhExportConfig(unit=unit)
    export_bvh(path, poses, FPS, config)
    frames = [0, 37, 80, 150, len(poses) - 1]
    out = tmp_path / "blender.json"
    proc = run_blender(blender, "--python-expr", BLENDER_SCRIPT, "--",
                       str(path), str(out), json.dumps(frames), str(1.0 / config.scale))  # fmt: skip
    assert proc.returncode == 0 and out.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert sorted(res["bones"]) == sorted(rig.bones)
    start, end = res["frame_range"]
    assert end - start + 1 == len(poses)
    worst = 0.0
    for f in frames:
        pos, rot = forward_kinematics(rig, poses[f].local_rotations, poses[f].hips_position_m)
        heads = blender_to_rig(np.array([res["heads"][str(f)][b] for b in rig.bones]))
        worst = max(worst, float(np.abs(heads - pos).max()))
        for name, tail in rig.tails_m.items():  # leaf tails are the BVH End Sites
            i = rig.index(name)
            got = blender_to_rig(np.array(res["tails"][str(f)][name]))
            worst = max(worst, float(np.abs(got - (pos[i] + rot[i] @ tail)).max()))
    assert worst < 1e-3  # metres: 1 mm
    # The frames differ (it is motion), so matching them all is not an accident.
    assert np.abs(np.diff([res["heads"][str(f)]["LeftHand"] for f in frames], axis=0)).max() > 0.05


# ---------------------------------------------------------------------------------------------- glTF


def read_glb_with_pygltflib(
    path: Path,
) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray, dict[str, list[float]]]:
    """Per node name its animated ``rotation``/``translation`` arrays, the key times, and each node's rest
    translation, decoded through pygltflib (an independent glTF reader)."""
    pygltflib = pytest.importorskip("pygltflib", reason="pygltflib reads the glTF back")
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    sizes = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}

    def accessor(i: int) -> np.ndarray:
        acc = gltf.accessors[i]
        view = gltf.bufferViews[acc.bufferView]
        start = (view.byteOffset or 0) + (acc.byteOffset or 0)
        k = sizes[acc.type]
        assert acc.componentType == pygltflib.FLOAT
        return np.frombuffer(blob, dtype="<f4", count=acc.count * k, offset=start).reshape(acc.count, k)

    anim = gltf.animations[0]
    tracks: dict[str, dict[str, np.ndarray]] = {}
    times = None
    for ch in anim.channels:
        sampler = anim.samplers[ch.sampler]
        times = accessor(sampler.input)[:, 0]
        assert sampler.interpolation == "LINEAR"
        tracks.setdefault(gltf.nodes[ch.target.node].name, {})[ch.target.path] = accessor(sampler.output)
    rest = {n.name: list(n.translation) for n in gltf.nodes}
    assert len(gltf.skins) == 1 and len(gltf.skins[0].joints) == len(gltf.nodes)
    assert times is not None
    return tracks, times, rest


def test_glb_round_trip_through_pygltflib(tmp_path: Path, rig: Rig, solved: list[BonePose]) -> None:
    from bridge.export.gltf import export_glb

    poses = on_grid(solved)
    path = tmp_path / "take.glb"
    assert export_glb(path, poses, FPS) == len(poses)
    tracks, times, rest = read_glb_with_pygltflib(path)
    np.testing.assert_allclose(times, np.arange(len(poses)) / FPS, atol=1e-6)
    assert sorted(tracks) == sorted(rig.bones)
    worst = 0.0
    for name, track in tracks.items():
        want = Rotation.from_quat(np.stack([p.rotation_of(name).as_quat() for p in poses]))
        worst = max(worst, float(angle_between(Rotation.from_quat(track["rotation"]), want).max()))
        if name != "Hips":
            np.testing.assert_allclose(rest[name], rig.offsets_m[rig.index(name)], atol=1e-7)
    assert worst < 1e-4
    np.testing.assert_allclose(tracks["Hips"]["translation"], np.stack([p.hips_position_m for p in poses]),
                               atol=1e-5)  # fmt: skip


def test_glb_rotation_keys_never_flip_sign_even_through_half_a_turn(tmp_path: Path, rig: Rig) -> None:
    """A hips turning a full turn about Y passes w = 0 twice: the keys stay on one side of each other (a reader
    that interpolates the four components would otherwise spin the avatar the long way round)."""
    from bridge.core.rig import load_rig
    from bridge.export.gltf import export_glb

    rig = load_rig()
    poses = []
    for k in range(61):
        rots = Rotation.identity(len(rig)).as_quat()
        rots[0] = Rotation.from_euler("y", 6.0 * k, degrees=True).as_quat()
        rots[rig.index("LeftUpperArm")] = Rotation.from_euler("z", -170.0 + 6.0 * k, degrees=True).as_quat()
        pose = BonePose.rest(rig, t_s=k / FPS, tracking=True)
        poses.append(dataclasses.replace(pose, local_rotations=Rotation.from_quat(rots)))
    path = tmp_path / "spin.glb"
    export_glb(path, poses, FPS)
    tracks, _, _ = read_glb_with_pygltflib(path)
    for name in ("Hips", "LeftUpperArm"):
        q = tracks[name]["rotation"].astype(np.float64)
        assert np.all(np.sum(q[1:] * q[:-1], axis=1) >= 0.0), name
        want = Rotation.from_quat(np.stack([p.rotation_of(name).as_quat() for p in poses]))
        assert float(angle_between(Rotation.from_quat(q), want).max()) < 1e-4


GLTF_BLENDER_SCRIPT = r"""
import json, sys
import bpy
path, out, frames, fps = sys.argv[sys.argv.index("--") + 1:]
bpy.context.scene.render.fps = int(fps)  # keys at t seconds land on frame t * fps
bpy.ops.import_scene.gltf(filepath=path)
arm = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"][0]
start, end = arm.animation_data.action.frame_range
res = {"bones": [b.name for b in arm.data.bones], "frame_range": [start, end], "heads": {}}
for f in json.loads(frames):
    bpy.context.scene.frame_set(f)
    res["heads"][str(f)] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
with open(out, "w") as fh:
    json.dump(res, fh)
"""


@pytest.mark.slow
def test_blender_imports_the_glb(tmp_path: Path, rig: Rig, solved: list[BonePose]) -> None:
    from bridge.export.gltf import export_glb

    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("Blender is not installed (Debian: apt-get install blender; install.sh --test does it)")
    probe = run_blender(blender, "--python-expr", "import numpy")
    if probe.returncode != 0:
        pytest.skip(
            "Blender's glTF importer needs numpy in Blender's Python (Debian: apt-get install python3-numpy)"
        )
    poses = on_grid(solved)
    path = tmp_path / "take.glb"
    export_glb(path, poses, FPS)
    frames = [0, 37, 80, 150, len(poses) - 1]
    out = tmp_path / "blender.json"
    proc = run_blender(blender, "--python-expr", GLTF_BLENDER_SCRIPT, "--",
                       str(path), str(out), json.dumps(frames), str(int(FPS)))  # fmt: skip
    assert proc.returncode == 0 and out.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert sorted(res["bones"]) == sorted(rig.bones)
    assert res["frame_range"][1] - res["frame_range"][0] + 1 == len(poses)
    worst = 0.0
    for f in frames:
        pos, _ = forward_kinematics(rig, poses[f].local_rotations, poses[f].hips_position_m)
        heads = blender_to_rig(np.array([res["heads"][str(f)][b] for b in rig.bones]))
        worst = max(worst, float(np.abs(heads - pos).max()))
    assert worst < 1e-3


# ---------------------------------------------------------------------------------------------- recorder


def test_recorder_writes_what_export_writes(tmp_path: Path, rig: Rig, solved: list[BonePose]) -> None:
    poses = on_grid(solved[:120])
    with BvhRecorder(tmp_path / "rec.bvh", rig, fps=FPS, flush_interval_s=0.0) as rec:
        for k, pose in enumerate(poses):
            rec.add(pose)
            if k == 40:  # mid-recording the file on disk is already a valid BVH of what came so far
                mid = read_bvh(tmp_path / "rec.bvh")
                assert mid.num_frames == rec.frames_written == 41
    export_bvh(tmp_path / "all.bvh", poses, FPS)
    a, b = read_bvh(tmp_path / "rec.bvh"), read_bvh(tmp_path / "all.bvh")
    assert a.skeleton.equals(b.skeleton) and a.num_frames == len(poses)
    np.testing.assert_allclose(a.channels, b.channels, atol=2e-6)
    header = (tmp_path / "rec.bvh").read_text().split("MOTION\n")[1].splitlines()[0]
    assert header == "Frames: " + f"{len(poses):<{FRAME_COUNT_WIDTH}d}"


def test_recorder_without_frames_leaves_no_file(tmp_path: Path, rig: Rig) -> None:
    path = tmp_path / "empty.bvh"
    with BvhRecorder(path, rig):
        assert not path.exists()  # opened by the first pose only: an input that fails at once touches nothing
    assert not path.exists()
    path.write_text("an existing take\n")
    with BvhRecorder(path, rig):
        pass
    assert path.read_text() == "an existing take\n"
    with BvhRecorder(path, rig) as recorder:
        recorder.add(BonePose.rest(rig, t_s=0.0))  # a pose opens (replaces) the file, one frame or not
        assert path.read_text().startswith("HIERARCHY")
    with pytest.raises(BridgeError, match="cannot write BVH"):
        BvhRecorder(tmp_path / "missing" / "x.bvh", rig).add(BonePose.rest(rig, t_s=0.0))


# ---------------------------------------------------------------------------------------------- commands


def write_recording(path: Path, frames: list[LandmarkFrame], repeat: int = 1) -> list[LandmarkFrame]:
    header = RecordingHeader(source="sports2d demo", fps=FPS, image_size=frames[0].image_size, created="test")
    written = []
    with RecordingWriter(path, header) as writer:
        for k in range(repeat * len(frames)):
            f = frames[k % len(frames)].replace(t_s=k / FPS, frame_index=k)
            writer.write(f)
            written.append(f)
    return written


@pytest.mark.slow
def test_export_command_on_a_recording(
    tmp_path: Path, run_bridge, sports2d_tracked: tuple[object, list[LandmarkFrame]], rig: Rig
) -> None:
    _, frames = sports2d_tracked
    rec = tmp_path / "take.jsonl"
    write_recording(rec, frames[:90])
    out = tmp_path / "take.bvh"
    glb = tmp_path / "take.glb"
    proc = run_bridge("export", str(rec), "--bvh", str(out), "--glb", str(glb), "--fps", "20")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr
    motion = read_bvh(out)
    assert motion.num_frames == math.floor(89 / FPS * 20 + 1e-6) + 1  # 0 .. 2.967 s every 1/20 s
    _, key_times, _ = read_glb_with_pygltflib(glb)
    np.testing.assert_allclose(key_times, np.arange(motion.num_frames) / 20.0, atol=1e-6)
    assert motion.frame_time_s == pytest.approx(1 / 20, abs=1e-7)
    # The same chain in-process gives the same channels (the command adds nothing of its own): the offline
    # chain with the command's settings (body state, planar root motion).
    _, replayed = read_recording(rec)
    args = build_parser().parse_args(["export", str(rec), "--bvh", str(out)])
    processor = Processor(rig, processor_config_from_args(args, root_motion="planar"))
    _, want = poses_to_bvh([r.pose for r in processor.process_offline(list(replayed)) if r.pose], 20.0)
    np.testing.assert_allclose(motion.channels, want.channels, atol=2e-6)


@pytest.mark.slow
def test_export_command_on_a_video(tmp_path: Path, run_bridge, sports2d_video: Path) -> None:
    out = tmp_path / "video.bvh"
    proc = run_bridge("export", str(sports2d_video), "--bvh", str(out), "--max-frames", "12", "--unit", "m")
    assert proc.returncode == 0, proc.stderr
    motion = read_bvh(out)
    assert motion.num_frames == 12 and motion.frame_time_s == pytest.approx(1 / 30, abs=1e-7)
    hips_y = motion.channels[:, 1]
    assert np.all((hips_y > 0.5) & (hips_y < 1.5))  # metres: a standing person's hips


@pytest.mark.parametrize(
    "args, message",
    [
        (("--bvh", "{tmp}/x.bvh"), "nothing to export"),
        (("camera:0", "--bvh", "{tmp}/x.bvh"), "reads files, not cameras"),
        (("{rec}", "--input", "{rec}", "--bvh", "{tmp}/x.bvh"), "give the input once"),
        (("{rec}", "--bvh", "{tmp}/missing/x.bvh"), "does not exist"),
        (("{rec}", "--glb", "{tmp}/missing/x.glb"), "does not exist"),
        (("{rec}",), "say what to write"),
        (("/no/such/take.jsonl", "--bvh", "{tmp}/x.bvh"), "input not found"),
    ],
)
@pytest.mark.slow
def test_export_command_errors(tmp_path: Path, run_bridge, args: tuple[str, ...], message: str) -> None:
    rec = tmp_path / "r.jsonl"
    rec.write_text('{"format": "bridge-landmarks", "version": 1}\n')
    proc = run_bridge("export", *[a.format(rec=rec, tmp=tmp_path) for a in args])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("bridge: error:") and message in lines[-1]
    assert "Traceback" not in proc.stderr


def test_export_rejects_a_bad_frame_rate(run_bridge, tmp_path: Path) -> None:
    proc = run_bridge("export", "x.jsonl", "--bvh", str(tmp_path / "x.bvh"), "--fps", "0")
    assert proc.returncode == 2 and "frame rate" in proc.stderr and "Traceback" not in proc.stderr


def _frames_in_header(path: Path) -> int:
    try:
        text = path.read_bytes()
    except OSError:
        return 0
    at = text.find(b"\nFrames: ")
    return int(text[at + 9 : at + 9 + FRAME_COUNT_WIDTH]) if at >= 0 else 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_stream_record_bvh_survives_ctrl_c(
    tmp_path: Path, sports2d_tracked: tuple[object, list[LandmarkFrame]], rig: Rig, sig: signal.Signals
) -> None:
    """A real ``python -m bridge stream --record-bvh`` gets SIGINT (or even SIGKILL) mid-take; the file it
    leaves parses, with every frame it declares."""
    _, frames = sports2d_tracked
    rec = tmp_path / "long.jsonl"
    written = write_recording(rec, frames, repeat=8)  # ~61 s of motion: far longer than the test waits
    out = tmp_path / "live.bvh"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "stream", "--input", str(rec), "--osc", "127.0.0.1:39539",
         "--record-bvh", str(out)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60.0
        while _frames_in_header(out) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the stream ended before it could be interrupted: " + proc.stderr.read()
        assert _frames_in_header(out) > 0
        time.sleep(0.3)  # interrupt between flushes too, not right after one
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    motion = read_bvh(out)
    lines_after_header = out.read_text().split("Frame Time:")[1].strip().splitlines()[1:]
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "recorded" in err
        assert motion.num_frames == len(lines_after_header)  # the count was patched to the complete lines
    else:  # killed: the count is the one of the last flush, which wrote complete lines only
        assert proc.returncode == -signal.SIGKILL
        assert motion.num_frames <= len(lines_after_header)
    assert 0 < motion.num_frames < len(written)
    joints, n_frames, _ = read_with_bvhio(out)
    assert n_frames == motion.num_frames and sorted(joints) == sorted(rig.bones)
    # What was recorded is what `bridge export` would write for those frames (as read back from the file).
    _, replayed = read_recording(rec)
    args = build_parser().parse_args(["stream", "--input", str(rec), "--record-bvh", str(out)])
    processor = Processor(rig, processor_config_from_args(args))
    poses = (r.pose for r in map(processor, replayed) if r.pose is not None)
    _, want = poses_to_bvh([next(poses) for _ in range(motion.num_frames)], FPS)
    np.testing.assert_allclose(motion.channels, want.channels, atol=2e-6)


def test_stream_record_bvh_bad_folder(run_bridge, tmp_path: Path) -> None:
    rec = tmp_path / "r.jsonl"
    rec.write_text('{"format": "bridge-landmarks", "version": 1}\n')
    proc = run_bridge("stream", "--input", str(rec), "--osc", "127.0.0.1:39539", "--record-bvh",
                      str(tmp_path / "nope" / "x.bvh"))  # fmt: skip
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
