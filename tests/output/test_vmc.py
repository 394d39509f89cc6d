"""VMC encoder: frames sent over a real UDP socket to a real python-osc server, checked against the protocol."""

from __future__ import annotations

from typing import SupportsFloat

import numpy as np
import pytest
from pythonosc.osc_bundle import OscBundle
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.transport import UdpSender, parse_osc_target
from bridge.output.vmc import VmcConfig, encode_vmc_blendshapes, encode_vmc_frame, vmc_frame_messages
from tests.helpers.osc_receiver import Msg, OscReceiver, parse_datagram, random_pose

#: Rig frame → Unity frame for vectors, written out here independently of bridge.frames: x → -x.
REFLECT = np.diag([-1.0, 1.0, 1.0])


def _send_and_receive(frames: list[list[bytes]]) -> list[bytes]:
    with OscReceiver() as rx, UdpSender([parse_osc_target(f"127.0.0.1:{rx.port}")]) as tx:
        for datagrams in frames:
            assert tx.send(datagrams) == []
        n = sum(len(f) for f in frames)
        got = rx.wait_for(n)
        assert len(rx.dispatched) == sum(len(parse_datagram(d)) for d in got)  # python-osc delivered them all
    assert len(got) == n
    return got


def _unity_matrix(q_xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrix of a Unity quaternion, as Unity's Quaternion * Vector3 applies it (component algebra)."""
    return Rotation.from_quat(q_xyzw).as_matrix()


def _rig_rotation_from_unity(q_xyzw: np.ndarray) -> Rotation:
    """Unity quaternion → rig-frame rotation via the reflection of matrices: R_rig = S R_unity S."""
    return Rotation.from_matrix(REFLECT @ _unity_matrix(q_xyzw) @ REFLECT)


def _check_frame(msgs: list[Msg], pose: BonePose, t_s: float) -> None:
    rig = pose.rig
    for m in msgs:
        assert all(isinstance(a, (int, float, str)) for a in m.args)
    ok, t, root, *bones = msgs
    assert (ok.address, ok.tags, ok.args) == ("/VMC/Ext/OK", "iiii", (1, 3, 0, 1 if pose.tracking else 0))
    assert (t.address, t.tags) == ("/VMC/Ext/T", "f")
    assert t.args[0] == pytest.approx(t_s, rel=1e-6)
    assert (root.address, root.tags, root.args[0]) == ("/VMC/Ext/Root/Pos", "sfffffff", "root")
    assert root.args[1:] == (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    assert [b.address for b in bones] == ["/VMC/Ext/Bone/Pos"] * len(rig.bones)
    assert all(b.tags == "sfffffff" for b in bones)
    assert sorted(b.args[0] for b in bones) == sorted(rig.bones)  # every bone, once
    for b in bones:
        i = rig.index(b.args[0])
        pos = np.array(b.args[1:4])
        quat = np.array(b.args[4:8])
        assert np.linalg.norm(quat) == pytest.approx(1.0, abs=1e-6)
        expected_rig = pose.hips_position_m if b.args[0] == "Hips" else rig.offsets_m[i]
        np.testing.assert_allclose(pos, REFLECT @ expected_rig, atol=1e-6)
        if b.args[0] != "Hips":
            assert np.linalg.norm(pos) > 1e-3  # rest offsets, never zeros
        err = (_rig_rotation_from_unity(quat).inv() * pose.local_rotations[i]).magnitude()
        assert err < 1e-5, (b.args[0], err)


def test_vmc_frames_over_udp_follow_the_protocol() -> None:
    poses = [random_pose(seed, tracking=seed % 2 == 0) for seed in range(6)]
    times = [0.5 + k / 30 for k in range(len(poses))]
    got = _send_and_receive([encode_vmc_frame(p, t) for p, t in zip(poses, times, strict=True)])
    for dgram, pose, t in zip(got, poses, times, strict=True):
        assert OscBundle.dgram_is_bundle(dgram)  # one bundle per frame by default
        _check_frame(parse_datagram(dgram), pose, t)


def test_local_rotation_known_answer_left_arm_raised() -> None:
    """Raising the avatar's left arm (rig: +90° about +Z turns +X into +Y) must point it up in Unity too."""
    rig = load_rig()
    rots = [Rotation.identity()] * len(rig.bones)
    rots[rig.index("LeftUpperArm")] = Rotation.from_euler("z", 90, degrees=True)
    pose = BonePose(0.0, rig, rig.offsets_m[0].copy(), Rotation.concatenate(rots), np.zeros(len(rig), np.int8))
    (dgram,) = _send_and_receive([encode_vmc_frame(pose, 0.0)])
    bones = {m.args[0]: m for m in parse_datagram(dgram)[3:]}
    upper = bones["LeftUpperArm"]
    lower_offset_unity = np.array(bones["LeftLowerArm"].args[1:4])
    assert lower_offset_unity[0] < -0.2  # Unity: the avatar's left is -X
    direction = _unity_matrix(np.array(upper.args[4:8])) @ lower_offset_unity
    np.testing.assert_allclose(direction / np.linalg.norm(direction), [0.0, 1.0, 0.0], atol=1e-6)


def test_tracking_lost_reports_status_zero() -> None:
    pose = random_pose(3, tracking=False)
    ok = parse_datagram(encode_vmc_frame(pose, 1.0)[0])[0]
    assert ok.args == (1, 3, 0, 0)
    ok = parse_datagram(encode_vmc_frame(random_pose(3), 1.0)[0])[0]
    assert ok.args == (1, 3, 0, 1)


@pytest.mark.parametrize("limit", [1400, 512, 128])
def test_split_bundles_stay_under_the_limit_and_lose_nothing(limit: int) -> None:
    pose = random_pose(11)
    whole = encode_vmc_frame(pose, 2.0)
    assert len(whole) == 1 and len(whole[0]) > limit  # splitting is needed
    split = encode_vmc_frame(pose, 2.0, VmcConfig(max_datagram_bytes=limit))
    assert len(split) > 1
    assert all(len(d) <= limit and OscBundle.dgram_is_bundle(d) for d in split)
    got = _send_and_receive([split])
    messages = [m for d in got for m in parse_datagram(d)]
    assert messages == parse_datagram(whole[0])  # same messages, same order
    _check_frame(messages, pose, 2.0)


def test_unbundled_mode_sends_one_message_per_datagram() -> None:
    pose = random_pose(5)
    datagrams = encode_vmc_frame(pose, 0.25, VmcConfig(bundle=False))
    assert len(datagrams) == 3 + len(pose.rig.bones)
    assert not any(OscBundle.dgram_is_bundle(d) for d in datagrams)
    got = _send_and_receive([datagrams])
    _check_frame([parse_datagram(d)[0] for d in got], pose, 0.25)


def test_blendshapes_follow_the_frame_and_apply_once() -> None:
    weights: dict[str, SupportsFloat] = {"A": 0.25, "Blink_L": 1.0, "Joy": np.float32(0.5)}
    pose = random_pose(2)
    msgs = parse_datagram(encode_vmc_frame(pose, 0.0, blendshapes=weights)[0])
    _check_frame(msgs[: 3 + len(pose.rig.bones)], pose, 0.0)
    tail = msgs[3 + len(pose.rig.bones) :]
    assert [(m.address, m.tags, m.args[0]) for m in tail[:-1]] == [
        ("/VMC/Ext/Blend/Val", "sf", name) for name in weights
    ]
    assert [m.args[1] for m in tail[:-1]] == pytest.approx([float(v) for v in weights.values()])
    assert (tail[-1].address, tail[-1].tags, tail[-1].args) == ("/VMC/Ext/Blend/Apply", "", ())
    alone = _send_and_receive([encode_vmc_blendshapes(weights)])
    assert parse_datagram(alone[0]) == tail
    assert encode_vmc_blendshapes({}) == []


def test_numpy_float32_inputs_still_send_osc_floats() -> None:
    pose = random_pose(9)
    pose32 = BonePose(
        pose.t_s, pose.rig, pose.hips_position_m.astype(np.float32), pose.local_rotations, pose.bone_state
    )
    msgs = parse_datagram(encode_vmc_frame(pose32, np.float32(1.5))[0])  # type: ignore[arg-type]
    assert msgs[1].tags == "f" and all(m.tags == "sfffffff" for m in msgs[3:])


def test_frame_messages_are_pure_and_repeatable() -> None:
    pose = random_pose(4)
    a = [m.dgram for m in vmc_frame_messages(pose, 0.1)]
    b = [m.dgram for m in vmc_frame_messages(pose, 0.1)]
    assert a == b
    assert a != [m.dgram for m in vmc_frame_messages(random_pose(5), 0.1)]


def test_too_small_datagram_limit_is_a_clear_error() -> None:
    with pytest.raises(BridgeError) as info:
        VmcConfig(max_datagram_bytes=64)
    assert "\n" not in str(info.value) and "64" in str(info.value)
