"""BVH reader, writer and forward kinematics: known-answer geometry, round trips, the real CMU/assimp files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.export.bvh_file import BvhError, BvhMotion, BvhSkeleton, format_bvh, parse_bvh, read_bvh, write_bvh
from bridge.export.bvh_kinematics import (
    bvh_forward_kinematics,
    bvh_local_transforms,
    bvh_world_positions,
    bvh_world_rotations,
)

BVH_DIR = Path("/usr/share/assimp/models/BVH")
needs_assimp = pytest.mark.skipif(not BVH_DIR.is_dir(), reason="Debian assimp-testmodels not installed")

# A three-joint arm: root with 6 channels, Arm 1 unit along x, Hand 2 units further, a 0.5 end site.
TINY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Hand
    {
      OFFSET 2 0 0
      CHANNELS 3 Xrotation Yrotation Zrotation
      End Site
      {
        OFFSET 0.5 0 0
      }
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.04
0 0 0 0 0 0 0 0 0 0 0 0
10 20 30 0 0 90 0 0 0 0 0 0
0 0 0 0 0 0 90 0 0 0 0 0
0 0 0 0 0 0 90 90 0 0 0 0
"""


def _rx(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.fixture(scope="module")
def tiny() -> BvhMotion:
    return parse_bvh(TINY, "tiny.bvh")


@pytest.fixture(scope="module")
def cmu_01() -> BvhMotion:
    if not BVH_DIR.is_dir():
        pytest.skip("Debian assimp-testmodels not installed")
    return read_bvh(BVH_DIR / "01_01.bvh")


def test_tiny_structure(tiny: BvhMotion) -> None:
    sk = tiny.skeleton
    assert sk.names == ("Hips", "Arm", "Hand")
    assert sk.parents.tolist() == [-1, 0, 1]
    assert sk.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert sk.channels[2] == ("Xrotation", "Yrotation", "Zrotation")
    assert sk.num_channels == 12 and list(sk.channel_columns("Arm")) == [6, 7, 8]
    np.testing.assert_array_equal(sk.offsets, [[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    np.testing.assert_array_equal(sk.end_sites["Hand"], [0.5, 0, 0])
    assert tiny.num_frames == 4 and tiny.frame_time_s == 0.04 and tiny.fps == pytest.approx(25.0)
    np.testing.assert_allclose(tiny.times_s(slice(1, 3)), [0.04, 0.08])


def test_tiny_forward_kinematics_by_hand(tiny: BvhMotion) -> None:
    pose = bvh_forward_kinematics(tiny)
    p, end = pose.positions, pose.end_sites["Hand"]
    # frame 0: rest pose, everything on the x axis
    np.testing.assert_allclose(p[0], [[0, 0, 0], [1, 0, 0], [3, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(end[0], [3.5, 0, 0], atol=1e-12)
    # frame 1: root moved to (10, 20, 30) and turned 90° about +Y, which takes +x to -z
    np.testing.assert_allclose(p[1], [[10, 20, 30], [10, 20, 29], [10, 20, 27]], atol=1e-12)
    np.testing.assert_allclose(end[1], [10, 20, 26.5], atol=1e-12)
    # frame 2: Arm 90° about Z takes its +x child to +y
    np.testing.assert_allclose(p[2], [[0, 0, 0], [1, 0, 0], [1, 2, 0]], atol=1e-12)
    np.testing.assert_allclose(end[2], [1, 2.5, 0], atol=1e-12)
    # frame 3: Arm "Zrotation Xrotation" = (90, 90). Intrinsic in listed order: Rz @ Rx, and Rz(90) Rx(90) x = y,
    # so the hand is at (1, 2, 0); the other order (Rx @ Rz) would have put it at (1, 0, 2).
    np.testing.assert_allclose(p[3, 2], [1, 2, 0], atol=1e-12)
    np.testing.assert_allclose(pose.rotations[3, 1], _rz(90) @ _rx(90), atol=1e-12)
    np.testing.assert_allclose(
        pose.rotations[3, 1], Rotation.from_euler("ZXY", [90, 90, 0], degrees=True).as_matrix(), atol=1e-12
    )


def test_rotation_orders_match_scipy_intrinsic_and_matrix_products() -> None:
    rng = np.random.default_rng(7)
    text = TINY.split("MOTION")[0].replace(
        "CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Yrotation Zrotation Xrotation"
    )
    angles = rng.uniform(-180, 180, size=(5, 12))
    angles[:, :3] = rng.uniform(-5, 5, size=(5, 3))
    body = "\n".join(" ".join(repr(v) for v in row) for row in angles.tolist())
    motion = parse_bvh(f"{text}MOTION\nFrames: 5\nFrame Time: 0.01\n{body}\n")
    _, local = bvh_local_transforms(motion)
    world = bvh_world_rotations(motion).as_matrix().reshape(5, 3, 3, 3)
    for t in range(5):
        zr, xr, yr = angles[t, 3:6]  # root: Z X Y
        ya, za, xa = angles[t, 6:9]  # Arm: Y Z X
        xh, yh, zh = angles[t, 9:12]  # Hand: X Y Z
        root = _rz(zr) @ _rx(xr) @ _ry(yr)
        arm = _ry(ya) @ _rz(za) @ _rx(xa)
        hand = _rx(xh) @ _ry(yh) @ _rz(zh)
        np.testing.assert_allclose(local[t, 0], root, atol=1e-12)
        np.testing.assert_allclose(local[t, 1], arm, atol=1e-12)
        np.testing.assert_allclose(local[t, 2], hand, atol=1e-12)
        np.testing.assert_allclose(
            local[t, 1], Rotation.from_euler("YZX", [ya, za, xa], degrees=True).as_matrix(), atol=1e-12
        )
        np.testing.assert_allclose(world[t, 2], root @ arm @ hand, atol=1e-12)
        hand_pos = angles[t, :3] + root @ np.array([1.0, 0, 0]) + root @ arm @ np.array([2.0, 0, 0])
        np.testing.assert_allclose(bvh_world_positions(motion, [t])[0, 2], hand_pos, atol=1e-12)


def test_frame_selections_agree(tiny: BvhMotion) -> None:
    full = bvh_world_positions(tiny)
    np.testing.assert_array_equal(bvh_world_positions(tiny, slice(1, 4, 2)), full[[1, 3]])
    np.testing.assert_array_equal(bvh_world_positions(tiny, [3, 0]), full[[3, 0]])
    np.testing.assert_array_equal(bvh_world_positions(tiny, np.array([-1])), full[[3]])
    assert tiny.subset(slice(2, None)).num_frames == 2
    with pytest.raises(BvhError, match="outside 0..3"):
        bvh_world_positions(tiny, [4])


def test_round_trip_exact(tmp_path: Path, tiny: BvhMotion) -> None:
    rng = np.random.default_rng(11)
    channels = rng.normal(scale=50.0, size=(9, tiny.skeleton.num_channels))
    path = tmp_path / "out.bvh"
    write_bvh(path, tiny.skeleton, channels, 1 / 120)
    back = read_bvh(path)
    assert back.skeleton.equals(tiny.skeleton)
    np.testing.assert_array_equal(back.channels, channels)
    assert back.frame_time_s == 1 / 120
    np.testing.assert_array_equal(
        bvh_world_positions(back), bvh_world_positions(BvhMotion(tiny.skeleton, 1 / 120, channels))
    )


def test_round_trip_rounded(tiny: BvhMotion) -> None:
    channels = np.random.default_rng(3).uniform(-90, 90, size=(3, 12))
    back = parse_bvh(format_bvh(tiny.skeleton, channels, 0.01, decimals=4))
    np.testing.assert_allclose(back.channels, channels, atol=5.1e-5, rtol=0)
    assert not np.array_equal(back.channels, channels)  # the rounding really happened


def test_writer_reorders_to_depth_first() -> None:
    # Parent-first but not depth-first: Root, A, B, A_child. BVH nesting forces Root, A, A_child, B.
    sk = BvhSkeleton(
        names=("Root", "A", "B", "A_child"),
        parents=[-1, 0, 0, 1],  # type: ignore[arg-type]  # plain lists, as an exporter might pass
        offsets=[[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 2, 0]],  # type: ignore[arg-type]
        channels=(
            ("Xposition", "Yposition", "Zposition", "Zrotation"),
            ("Zrotation",),
            ("Xrotation",),
            ("Yrotation",),
        ),
        end_sites={"A_child": np.array([0.0, 0.0, 3.0])},
    )
    assert sk.parents.dtype == np.intp and sk.offsets.dtype == np.float64
    channels = np.array([[1.0, 2.0, 3.0, 30.0, 40.0, 50.0, 60.0]])
    motion = BvhMotion(sk, 0.1, channels)
    back = parse_bvh(format_bvh(sk, channels, 0.1))
    assert back.skeleton.names == ("Root", "A", "A_child", "B")
    before, after = bvh_forward_kinematics(motion), bvh_forward_kinematics(back)
    for name in sk.names:
        np.testing.assert_allclose(
            after.positions[0, back.skeleton.index(name)], before.positions[0, sk.index(name)], atol=1e-12
        )
    np.testing.assert_allclose(after.end_sites["A_child"], before.end_sites["A_child"], atol=1e-12)


def test_writer_rejects_bad_input(tiny: BvhMotion, tmp_path: Path) -> None:
    with pytest.raises(BvhError, match=r"\(frames, 12\)"):
        format_bvh(tiny.skeleton, np.zeros((2, 11)), 0.01)
    with pytest.raises(BvhError, match="non-finite"):
        format_bvh(tiny.skeleton, np.full((1, 12), np.nan), 0.01)
    with pytest.raises(BvhError, match="frame time"):
        format_bvh(tiny.skeleton, np.zeros((1, 12)), 0.0)
    bad = BvhSkeleton(("a b",), np.array([-1]), np.zeros((1, 3)), ((),))
    with pytest.raises(BvhError, match="spaces"):
        format_bvh(bad, np.zeros((1, 0)), 0.01)
    with pytest.raises(BvhError, match="cannot write"):
        write_bvh(tmp_path / "no" / "such" / "dir.bvh", tiny.skeleton, np.zeros((1, 12)), 0.01)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("OFFSET 1 0 0", "OFFSET 1 zero 0"), 8, "must be a number"),
        (
            ("Zrotation Xrotation Yrotation\n", "Zrotation Xrotation Wrotation\n"),
            5,
            "unknown channel 'Wrotation' of Hips",
        ),
        (("    JOINT Hand", "    JOIN Hand"), 10, "expected JOINT, End Site"),
        (("0 0 0 0 0 0 90 90 0 0 0 0", "0 0 0 0 0 0 90 90 0 0 0"), 27, "11 values"),
        (("0 0 0 0 0 0 90 0 0 0 0 0", "0 0 0 0 0 0 ninety 0 0 0 0 0"), 26, "'ninety' is not a number"),
        (("Frames: 4", "Frames: 5"), 27, "Frames says 5 but the file has only 4"),
        (("0 0 0 0 0 0 90 0 0 0 0 0", "0 0 0 0 0 0 90 0 0 0 0 0 7"), -1, "13 values"),
        (("Frame Time: 0.04", "Frame Time: 0"), 23, "Frame Time must be > 0"),
        (("Frame Time: 0.04", "Frame Tim: 0.04"), 23, "expected 'Frame Time:'"),
        (("HIERARCHY", "HIERARCH"), 1, "expected HIERARCHY"),
    ],
)
def test_parse_errors_name_the_line(edit: tuple[str, str], line: int, words: str) -> None:
    assert edit[0] in TINY
    text = TINY.replace(edit[0], edit[1], 1)
    if line < 0:  # the line of the edit
        line = next(k for k, ln in enumerate(text.splitlines(), start=1) if edit[1].strip() in ln)
    with pytest.raises(BvhError) as info:
        parse_bvh(text, "bad.bvh")
    msg = str(info.value)
    assert isinstance(info.value, BridgeError)
    assert "\n" not in msg and f"bad.bvh line {line}:" in msg and words in msg


def test_structural_errors() -> None:
    with pytest.raises(BvhError, match="empty"):
        parse_bvh("\n\n", "e.bvh")
    with pytest.raises(BvhError, match="no MOTION"):
        parse_bvh(TINY.split("MOTION")[0], "t.bvh")
    with pytest.raises(BvhError, match="line 20: the HIERARCHY ends where '}' closing joint Hips"):
        parse_bvh(TINY.replace("        OFFSET 0.5 0 0\n      }", "        OFFSET 0.5 0 0\n"), "t.bvh")
    with pytest.raises(BvhError, match="not found"):
        read_bvh("/nonexistent/clip.bvh")


@needs_assimp
@pytest.mark.parametrize(
    ("name", "frames", "fps", "joints", "channels"),
    [
        ("01_01.bvh", 2752, 120.0, 31, 96),
        ("01_03.bvh", 4511, 120.0, 31, 96),
        ("Boxing_Toes.bvh", 3069, 100.0, 21, 66),
    ],
)
def test_assimp_files_parse(name: str, frames: int, fps: float, joints: int, channels: int) -> None:
    m = read_bvh(BVH_DIR / name)
    assert m.num_frames == frames and m.channels.shape == (frames, channels)
    assert len(m.skeleton) == joints and m.fps == pytest.approx(fps, rel=1e-4)
    assert np.all(np.isfinite(m.channels))
    # Y is up and the floor is y = 0: the feet (lowest end sites) come within a few cm of it, the head is above.
    pose = bvh_forward_kinematics(m, slice(1, None, 50))
    toes = np.concatenate([v[:, 1] for k, v in pose.end_sites.items() if "Toe" in k])
    head_top = pose.end_sites["Head"][:, 1]
    unit = 0.0254 / 0.45 if name.startswith("01_") else 0.01
    assert -0.05 < toes.min() * unit < 0.08
    assert np.median(head_top) * unit > 1.3


@needs_assimp
def test_cmu_frame0_is_t_pose(cmu_01: BvhMotion) -> None:
    sk = cmu_01.skeleton
    assert sk.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
    p = bvh_world_positions(cmu_01, [0])[0]
    for side in ("Left", "Right"):
        arm = p[sk.index(f"{side}Hand")] - p[sk.index(f"{side}Arm")]
        assert abs(arm[1]) / np.linalg.norm(arm) < math.sin(math.radians(8))  # arms horizontal
        assert (arm[0] > 0) == (side == "Left")  # left arm toward +x
        leg = p[sk.index(f"{side}Foot")] - p[sk.index(f"{side}UpLeg")]
        assert -leg[1] / np.linalg.norm(leg) > math.cos(math.radians(5))  # legs straight down


@needs_assimp
def test_cmu_round_trip_through_file(cmu_01: BvhMotion, tmp_path: Path) -> None:
    part = cmu_01.subset(slice(0, 60))
    path = tmp_path / "cmu.bvh"
    write_bvh(path, part.skeleton, part.channels, part.frame_time_s)
    back = read_bvh(path)
    assert back.skeleton.equals(cmu_01.skeleton)
    np.testing.assert_array_equal(back.channels, part.channels)
    assert back.frame_time_s == part.frame_time_s
    np.testing.assert_array_equal(bvh_world_positions(back), bvh_world_positions(cmu_01, slice(0, 60)))


def test_crlf_tabs_and_lowercase_keywords_parse_the_same(tiny: BvhMotion) -> None:
    variant = TINY.replace("  ", "\t").replace("End Site", "End site").replace("\n", "\r\n")
    other = parse_bvh(variant)
    assert other.skeleton.equals(tiny.skeleton)
    np.testing.assert_array_equal(other.channels, tiny.channels)
