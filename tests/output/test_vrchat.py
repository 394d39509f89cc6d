"""VRChat OSC trackers encoder: real UDP to a real python-osc server; Euler angles rebuilt the way Unity does."""

from __future__ import annotations

import numpy as np
import pytest
from pythonosc.osc_bundle import OscBundle
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.output.transport import UdpSender, parse_osc_target
from bridge.output.vrchat import TRACKER_PARTS, VrchatConfig, encode_vrchat_frame
from tests.helpers.osc_receiver import Msg, OscReceiver, parse_datagram, random_pose

#: Rig frame → Unity frame, written out here independently of bridge.frames: x → -x.
REFLECT = np.diag([-1.0, 1.0, 1.0])
#: part → (bone whose joint is the position, bone whose world rotation is the rotation), as documented.
PART_BONES = {
    "hip": ("Hips", "Hips"),
    "chest": ("UpperChest", "UpperChest"),
    "left_foot": ("LeftFoot", "LeftFoot"),
    "right_foot": ("RightFoot", "RightFoot"),
    "left_knee": ("LeftLowerLeg", "LeftLowerLeg"),
    "right_knee": ("RightLowerLeg", "RightLowerLeg"),
    "left_elbow": ("LeftLowerArm", "LeftUpperArm"),
    "right_elbow": ("RightLowerArm", "RightUpperArm"),
    "head": ("Head", "Head"),
}


def _unity_euler_to_matrix(x_deg: float, y_deg: float, z_deg: float) -> np.ndarray:
    """Unity's Quaternion.Euler(x, y, z): rotate about Z, then X, then Y (fixed axes): q = qy * qx * qz."""

    def axis_quat(axis: int, deg: float) -> np.ndarray:
        q = np.zeros(4)
        q[axis] = np.sin(np.radians(deg) / 2)
        q[3] = np.cos(np.radians(deg) / 2)
        return q

    def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # Hamilton product, scalar-last
        ax, ay, az, aw = a
        bx, by, bz, bw = b
        return np.array(
            [
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
                aw * bw - ax * bx - ay * by - az * bz,
            ]
        )

    q = mul(mul(axis_quat(1, y_deg), axis_quat(0, x_deg)), axis_quat(2, z_deg))
    return Rotation.from_quat(q).as_matrix()


def _receive(frames: list[list[bytes]]) -> list[list[Msg]]:
    with OscReceiver() as rx, UdpSender([parse_osc_target(f"127.0.0.1:{rx.port}")]) as tx:
        for f in frames:
            tx.send(f)
        got = rx.wait_for(sum(len(f) for f in frames))
    assert len(got) == sum(len(f) for f in frames)
    return [parse_datagram(d) for d in got]


def _by_tracker(msgs: list[Msg]) -> dict[str, dict[str, tuple[float, ...]]]:
    out: dict[str, dict[str, tuple[float, ...]]] = {}
    for m in msgs:
        prefix, key, kind = m.address.rsplit("/", 2)
        assert prefix == "/tracking/trackers" and kind in ("position", "rotation")
        assert m.tags == "fff" and len(m.args) == 3
        out.setdefault(key, {})[kind] = m.args
    return out


def _check_trackers(pose: BonePose, config: VrchatConfig, msgs: list[Msg]) -> None:
    rig = pose.rig
    scale = config.height_m / rig.height_m
    positions, mats = pose.world()
    trackers = _by_tracker(msgs)
    expected_keys = {str(TRACKER_PARTS.index(p) + 1): p for p in config.trackers}
    if config.send_head:
        expected_keys["head"] = "head"
    assert set(trackers) == set(expected_keys)
    for key, part in expected_keys.items():
        pos_bone, rot_bone = PART_BONES[part]
        np.testing.assert_allclose(
            trackers[key]["position"], REFLECT @ positions[rig.index(pos_bone)] * scale, atol=2e-6
        )
        if key == "head" and not config.head_rotation:
            assert "rotation" not in trackers[key]  # VRChat would turn its tracking space toward it
            continue
        rebuilt = _unity_euler_to_matrix(*trackers[key]["rotation"])
        expected = REFLECT @ mats[rig.index(rot_bone)] @ REFLECT  # world rotation in Unity's frame
        err = Rotation.from_matrix(rebuilt.T @ expected).magnitude()
        assert err < 1e-5, (part, err)


def test_all_trackers_over_udp_rebuild_unity_rotations_and_scaled_positions() -> None:
    config = VrchatConfig(trackers=TRACKER_PARTS, height_m=1.8)
    poses = [random_pose(seed) for seed in range(8)]
    for pose, msgs in zip(poses, _receive([encode_vrchat_frame(p, config) for p in poses]), strict=True):
        _check_trackers(pose, config, msgs)


def test_default_sends_hip_and_feet_as_trackers_1_3_4_plus_the_head_position_only() -> None:
    pose = random_pose(1)
    (msgs,) = _receive([encode_vrchat_frame(pose)])
    assert [m.address for m in msgs] == [
        f"/tracking/trackers/{k}/{kind}" for k in ("1", "3", "4") for kind in ("position", "rotation")
    ] + ["/tracking/trackers/head/position"]
    _check_trackers(pose, VrchatConfig(), msgs)


def test_head_rotation_is_sent_only_when_asked() -> None:
    pose = random_pose(2)
    config = VrchatConfig(head_rotation=True)
    (msgs,) = _receive([encode_vrchat_frame(pose, config)])
    head = ["/tracking/trackers/head/position", "/tracking/trackers/head/rotation"]
    assert [m.address for m in msgs][-2:] == head
    _check_trackers(pose, config, msgs)


def test_rest_pose_stands_on_the_floor_at_the_users_height() -> None:
    rig = load_rig()
    rest = BonePose.rest(rig)
    heights = {}
    for h in (1.5, 1.7, 2.0):
        msgs = parse_datagram(encode_vrchat_frame(rest, VrchatConfig(trackers=TRACKER_PARTS, height_m=h))[0])
        t = _by_tracker(msgs)
        ys = [v["position"][1] for v in t.values()]
        assert min(ys) >= 0.0
        for foot in ("3", "4"):
            assert 0.0 < t[foot]["position"][1] < 0.1 * h  # ankles just above the floor
            assert t[foot]["rotation"] == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
        assert t["3"]["position"][0] < 0 < t["4"]["position"][0]  # Unity: left foot at -X
        heights[h] = t["head"]["position"][1]
    # Positions scale with the user's height, about the floor.
    assert heights[2.0] / heights[1.5] == pytest.approx(2.0 / 1.5, rel=1e-6)
    assert heights[1.7] == pytest.approx(rig.rest_world_m[rig.index("Head"), 1] * 1.7 / rig.height_m, rel=1e-6)


def test_hips_turned_left_known_answer() -> None:
    """The avatar turns 90° to its left (rig: +90° about +Y): Unity yaw -90°, left foot moves behind (-Z)."""
    rig = load_rig()
    rots = [Rotation.identity()] * len(rig.bones)
    rots[rig.index("Hips")] = Rotation.from_euler("y", 90, degrees=True)
    pose = BonePose(0.0, rig, rig.offsets_m[0].copy(), Rotation.concatenate(rots), np.zeros(len(rig), np.int8))
    t = _by_tracker(parse_datagram(encode_vrchat_frame(pose, VrchatConfig(height_m=rig.height_m))[0]))
    assert t["1"]["rotation"] == pytest.approx((0.0, -90.0, 0.0), abs=1e-4)
    assert t["3"]["rotation"] == pytest.approx((0.0, -90.0, 0.0), abs=1e-4)
    left_foot = np.array(t["3"]["position"])
    np.testing.assert_allclose(left_foot[[0, 2]], [0.0, -rig.offsets_m[rig.index("LeftUpperLeg"), 0]], atol=1e-6)


def test_unbundled_and_subset_order() -> None:
    pose = random_pose(7)
    config = VrchatConfig(trackers=("right_elbow", "hip"), send_head=False, bundle=False)
    datagrams = encode_vrchat_frame(pose, config)
    assert not any(OscBundle.dgram_is_bundle(d) for d in datagrams)
    msgs = [m for ms in _receive([datagrams]) for m in ms]
    assert [m.address for m in msgs] == [
        "/tracking/trackers/1/position",
        "/tracking/trackers/1/rotation",
        "/tracking/trackers/8/position",
        "/tracking/trackers/8/rotation",
    ]
    _check_trackers(pose, config, msgs)


def test_chest_falls_back_to_chest_when_the_rig_has_no_upper_chest() -> None:
    from bridge.core.rig import rig_from_json

    doc = load_rig().to_json()
    doc["bones"] = [b for b in doc["bones"] if b["name"] != "UpperChest"]
    for b in doc["bones"]:
        if b["parent"] == "UpperChest":
            b["parent"] = "Chest"
    rig = rig_from_json(doc)
    pose = BonePose(
        0.0, rig, rig.offsets_m[0].copy(), Rotation.random(len(rig), random_state=3), np.zeros(len(rig), np.int8)
    )
    t = _by_tracker(parse_datagram(encode_vrchat_frame(pose, VrchatConfig(trackers=("chest",)))[0]))
    positions, _ = pose.world()
    np.testing.assert_allclose(
        t["2"]["position"], REFLECT @ positions[rig.index("Chest")] * 1.7 / rig.height_m, atol=2e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"trackers": ("hips",)}, "hip, chest, left_foot"),
        ({"trackers": ("hip", "hip")}, "twice"),
        ({"trackers": ()}, "at least one"),
        ({"trackers": TRACKER_PARTS + ("hip",)}, "twice"),
        ({"height_m": 17.0}, "metres"),
        ({"height_m": 0.0}, "metres"),
    ],
)
def test_bad_config_is_a_one_line_error(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(BridgeError) as info:
        VrchatConfig(**kwargs)  # type: ignore[arg-type]
    assert needle in str(info.value) and "\n" not in str(info.value)
