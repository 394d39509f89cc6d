"""Face stage: blend shape name mapping (ARKit / VRM 0.x / VRM 1.0), head from the face transform, eye
gaze, hold-then-fade; and the real face model on scikit-image's astronaut photo, its weights sent over a real
UDP socket."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.hand_face import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES, FaceResult
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import load_rig
from bridge.output.vmc import ADDRESS_BLEND_APPLY, ADDRESS_BLEND_VAL, encode_vmc_frame
from bridge.solve.face import (
    PRESET_SOURCES,
    VRM0_NAMES,
    FaceConfig,
    FaceSolver,
    eye_rotations,
    head_rotation,
    map_blendshapes,
)
from tests.helpers.osc_receiver import OscReceiver, parse_datagram


def weights(**named: float) -> np.ndarray:
    w = np.zeros(NUM_BLENDSHAPES)
    for k, v in named.items():
        w[ARKIT_INDEX[k]] = v
    return w


def test_arkit_names_are_the_52_of_apple() -> None:
    assert len(ARKIT_BLENDSHAPES) == 52 == len(set(ARKIT_BLENDSHAPES))
    assert {"eyeBlinkLeft", "jawOpen", "mouthSmileRight", "tongueOut", "cheekPuff"} <= set(ARKIT_BLENDSHAPES)
    out = map_blendshapes(weights(jawOpen=0.4), "arkit")
    assert list(out) == list(ARKIT_BLENDSHAPES) and out["jawOpen"] == pytest.approx(0.4)


def test_arkit_pascal_sends_the_same_weights_in_pascal_case_from_the_command_line() -> None:
    from bridge.cli.main import build_parser
    from bridge.cli.options import processor_config_from_args

    args = build_parser().parse_args(["stream", "--blendshapes", "arkit-pascal", "--input", "demo"])
    config = processor_config_from_args(args).face
    assert config is not None and config.names == "arkit-pascal"
    w = np.linspace(0.0, 1.0, NUM_BLENDSHAPES)
    lower, pascal = map_blendshapes(w, "arkit"), map_blendshapes(w, config.names)
    assert list(pascal) == [n[0].upper() + n[1:] for n in lower]
    assert {"JawOpen", "EyeBlinkLeft", "MouthSmileRight", "TongueOut", "CheekPuff"} <= set(pascal)
    assert list(pascal.values()) == list(lower.values())
    grams = encode_vmc_frame(BonePose.rest(load_rig("default")), 0.0, blendshapes=pascal)
    sent = {m.args[0]: m.args[1] for g in grams for m in parse_datagram(g) if m.address == ADDRESS_BLEND_VAL}
    assert sent["JawOpen"] == pytest.approx(w[ARKIT_INDEX["jawOpen"]], abs=1e-6) and "jawOpen" not in sent


#: Weights that shape several presets (open vs closed mouth, rounded lips) besides their own sources.
MODULATORS = ("jawOpen", "mouthFunnel", "mouthPucker")


@pytest.mark.parametrize("preset", sorted(PRESET_SOURCES))
def test_each_vrm_preset_is_driven_by_its_arkit_weights(preset: str) -> None:
    """Raising a preset's source weights raises it; raising every unrelated weight leaves it unchanged."""
    rng = np.random.default_rng(sum(map(ord, preset)))
    base = rng.uniform(0.0, 0.2, NUM_BLENDSHAPES)
    jaw = ARKIT_INDEX["jawOpen"]
    base[jaw] = 0.6 if preset in ("happy", "ee") else 0.0  # an open-mouthed laugh / "e"; the rest: jaw closed
    if preset == "ee":
        base[ARKIT_INDEX["mouthFunnel"]] = base[ARKIT_INDEX["mouthPucker"]] = 0.0
    sources = [ARKIT_INDEX[n] for n in PRESET_SOURCES[preset]]
    up = base.copy()
    up[sources] = 0.9
    unrelated = base.copy()
    others = [i for i in range(NUM_BLENDSHAPES) if i not in sources and ARKIT_BLENDSHAPES[i] not in MODULATORS]
    unrelated[others] = 1.0
    for name_set, key in (("vrm1", preset), ("vrm0", VRM0_NAMES.get(preset))):
        if key is None:
            continue
        lo, hi = map_blendshapes(base, name_set)[key], map_blendshapes(up, name_set)[key]
        assert hi > lo + 0.3, (name_set, key, lo, hi)
        assert 0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0
        assert map_blendshapes(unrelated, name_set)[key] == pytest.approx(lo), (name_set, key)


def test_vrm0_has_the_eleven_presets_and_vrm1_the_twelve() -> None:
    w = np.random.default_rng(0).uniform(0, 1, NUM_BLENDSHAPES)
    assert set(map_blendshapes(w, "vrm0")) == {"Blink_L", "Blink_R", "A", "I", "U", "E", "O", "Joy", "Angry",
                                                "Sorrow", "Fun"}  # fmt: skip
    assert {
        "blinkLeft",
        "blinkRight",
        "aa",
        "ih",
        "ou",
        "ee",
        "oh",
        "happy",
        "angry",
        "sad",
        "relaxed",
        "surprised",
    } == set(map_blendshapes(w, "vrm1"))


def test_eyes_turn_toward_where_the_weights_look() -> None:
    """Rig frame: the avatar faces +Z, +X is its left. Looking to its left: both eyes' forward goes to +X."""
    look_left = eye_rotations(weights(eyeLookOutLeft=1.0, eyeLookInRight=1.0))
    for bone in ("LeftEye", "RightEye"):
        fwd = look_left[bone].apply([0.0, 0.0, 1.0])
        assert fwd[0] > 0.35 and abs(fwd[1]) < 1e-9
    look_up = eye_rotations(weights(eyeLookUpLeft=1.0, eyeLookUpRight=1.0))
    assert look_up["LeftEye"].apply([0.0, 0.0, 1.0])[1] > 0.3


def test_head_rotation_from_the_transform() -> None:
    turn = Rotation.from_euler("YX", [30, -10], degrees=True).as_matrix()
    m = np.eye(4)
    m[:3, :3] = 1.02 * turn  # a slightly scaled rotation part still gives the rotation
    m[:3, 3] = (3.0, 20.0, -60.0)
    assert np.allclose(head_rotation(m), turn, atol=1e-9)


def face_frame(t_s: float, w: np.ndarray, yaw_deg: float = 0.0) -> LandmarkFrame:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("Y", yaw_deg, degrees=True).as_matrix()
    return LandmarkFrame.no_person(t_s, (640, 480)).replace(face=FaceResult(w, m, np.zeros((2, 2))))


def test_face_solver_turns_the_head_and_fades_a_lost_face() -> None:
    rig = load_rig("default")
    solver = FaceSolver(FaceConfig(names="vrm0", filter=False, hold_s=0.5, ease_s=1.0))
    out = solver(face_frame(0.0, weights(eyeBlinkLeft=0.8), yaw_deg=40.0), BonePose.rest(rig))
    neck, head = out.pose.rotation_of("Neck"), out.pose.rotation_of("Head")
    assert np.degrees((neck * head).magnitude()) == pytest.approx(40.0, abs=1e-6)
    assert np.degrees(neck.magnitude()) == pytest.approx(20.0, abs=1e-6)  # split evenly
    assert out.pose.bone_state[rig.index("Head")] == BoneState.TRACKED
    assert out.blendshapes is not None and out.blendshapes["Blink_L"] == pytest.approx(0.8)
    empty = LandmarkFrame.no_person(0.0, (640, 480))
    assert solver(empty.replace(t_s=0.1), BonePose.rest(rig)).blendshapes["Blink_L"] == pytest.approx(0.8)  # type: ignore[index]
    half = solver(empty.replace(t_s=1.1), BonePose.rest(rig)).blendshapes
    assert half is not None and half["Blink_L"] == pytest.approx(0.4)
    assert solver(empty.replace(t_s=2.0), BonePose.rest(rig)).blendshapes["Blink_L"] == 0.0  # type: ignore[index]
    # No face ever seen: nothing to send, the pose untouched.
    fresh = FaceSolver(FaceConfig())(empty, BonePose.rest(rig))
    assert fresh.blendshapes is None


def test_face_weights_are_filtered() -> None:
    rng = np.random.default_rng(2)
    rig = load_rig("default")
    solver = FaceSolver(FaceConfig(names="arkit"))
    raw, out = [], []
    for k in range(60):
        v = float(np.clip(0.5 + rng.uniform(-0.2, 0.2), 0, 1))
        raw.append(v)
        res = solver(face_frame(k / 30.0, weights(jawOpen=v)), BonePose.rest(rig)).blendshapes
        assert res is not None
        out.append(res["jawOpen"])
    assert np.std(out[10:]) < 0.6 * np.std(raw[10:])


# ------------------------------------------------------------------------------------ the real model


@pytest.fixture(scope="module")
def astronaut_face() -> FaceResult:
    data = pytest.importorskip("skimage.data")
    from bridge.tracking.hand_face_detector import HandFaceDetector, VtuberConfig

    rgb = np.ascontiguousarray(data.astronaut())  # (512, 512, 3) uint8 RGB, shipped with scikit-image
    detector = HandFaceDetector(VtuberConfig(hands=False, face=True))
    try:
        face = detector.detect_face(rgb, LandmarkFrame.no_person(0.0, (512, 512)))
    finally:
        detector.close()
    assert face is not None, "no face found on the astronaut photo"
    return face


def test_astronaut_face_gives_52_weights_over_a_real_udp_socket(astronaut_face: FaceResult) -> None:
    w = astronaut_face.blendshapes
    assert w.shape == (52,) and np.all((w >= 0) & (w <= 1))
    # She smiles broadly with her mouth closed: the smile weights are high, the jaw shut.
    assert w[ARKIT_INDEX["mouthSmileLeft"]] > 0.5 and w[ARKIT_INDEX["mouthSmileRight"]] > 0.5
    assert w[ARKIT_INDEX["jawOpen"]] < 0.2
    # Her face is in the upper left of the photo: the iris points say so.
    assert np.all(astronaut_face.image_xy[:, 0] < 0.6) and np.all(astronaut_face.image_xy[:, 1] < 0.4)
    pose = BonePose.rest(load_rig("default"))
    with OscReceiver() as rx:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for gram in encode_vmc_frame(pose, 0.0, blendshapes=map_blendshapes(w, "arkit")):
                sock.sendto(gram, ("127.0.0.1", rx.port))
        grams = rx.wait_for(1)
    msgs = [m for g in grams for m in parse_datagram(g)]
    vals = [m for m in msgs if m.address == ADDRESS_BLEND_VAL]
    assert len(vals) == 52 and {m.args[0] for m in vals} == set(ARKIT_BLENDSHAPES)
    assert all(m.tags == "sf" and 0.0 <= m.args[1] <= 1.0 for m in vals)
    assert msgs[-1].address == ADDRESS_BLEND_APPLY
    sent = {m.args[0]: m.args[1] for m in vals}
    assert sent["mouthSmileLeft"] == pytest.approx(w[ARKIT_INDEX["mouthSmileLeft"]], abs=1e-6)


def test_astronaut_maps_to_a_smile_in_vrm_presets(astronaut_face: FaceResult) -> None:
    v0 = map_blendshapes(astronaut_face.blendshapes, "vrm0")
    assert v0["Fun"] > 0.5 and v0["Fun"] > max(v0["A"], v0["Angry"], v0["Sorrow"], v0["Blink_L"])


def test_a_face_that_disagrees_with_the_tracked_body_head_does_not_turn_it() -> None:
    """A face transform 120° away from the head the body solver tracked (a face found on the back of a head):
    the body's head stays; 30° away: the face's head is used."""
    rig = load_rig("default")
    body = BonePose.rest(rig)
    state = body.bone_state.copy()
    state[[rig.index("Neck"), rig.index("Head")]] = BoneState.TRACKED
    body = BonePose(0.0, rig, body.hips_position_m, body.local_rotations, state)
    far = FaceSolver(FaceConfig(filter=False))(face_frame(0.0, weights(), yaw_deg=120.0), body)
    assert far.pose.rotation_of("Head").magnitude() < 1e-9
    near = FaceSolver(FaceConfig(filter=False))(face_frame(0.0, weights(), yaw_deg=30.0), body)
    assert np.degrees(
        (near.pose.rotation_of("Neck") * near.pose.rotation_of("Head")).magnitude()
    ) == pytest.approx(30.0)
