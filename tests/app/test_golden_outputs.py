"""Golden outputs: what bridge writes and sends for one fixed recording, byte for byte.

The recording is made here, deterministically: real CMU motion capture (``01_01``) seen by a virtual camera,
with seeded landmark noise, a stretch without a person, low-visibility arms, synthetic hands (curling fingers)
and a synthetic face (blend shapes and a turning head). The SHA-256 of every output is compared with
``tests/golden/outputs.json``: the BVH and glTF exports, the analysis CSV, and the VMC / VRChat datagrams of
the stream chain, with and without ``--mirror`` and the temporal lifter.

These hashes guard refactors: a change that should not change behaviour must leave them equal. A deliberate
change of the outputs regenerates them: ``BRIDGE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_outputs.py``
(say in the commit why they changed).

Another CPU may round the last bit of a float otherwise (numpy and OpenBLAS pick their kernels by the CPU: the
hashes made on one machine failed for 4 of 17 outputs, all float32 binaries, on an AMD EPYC): where the bytes
differ, an output still passes when everything but its numbers is byte-identical and its numbers agree to float32
precision, block by block (:func:`_fingerprint`: 64 blocks, each one's sum and sum of magnitudes).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.app.processor import Processor
from bridge.cli.main import build_parser, main
from bridge.cli.stream import processor_config_from_args
from bridge.core.hand_face import ARKIT_BLENDSHAPES, FaceResult, HandObservation, HandsResult
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose
from bridge.core.rig import load_rig
from bridge.export.bvh_file import read_bvh
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from bridge.output.vrchat import VrchatConfig, encode_vrchat_frame
from bridge.solve.hands import SEGMENTS, hand_landmarks_from_pose
from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
from bridge.testing.virtual_camera import VirtualCamera
from bridge.tracking.recording import RecordingHeader, RecordingWriter

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "outputs.json"
FRAMES = slice(0, 360, 2)  # 180 frames at 60 fps of the 120 fps clip: 3 s of jumping


def _hands(rig, pose_frame: LandmarkFrame, k: int) -> HandsResult:  # type: ignore[no-untyped-def]
    rest = BonePose.rest(rig)
    obs = []
    for side, wrist in (("Left", L.LEFT_WRIST), ("Right", L.RIGHT_WRIST)):
        q = rest.local_rotations.as_quat()
        deg = 40.0 + 35.0 * np.sin(0.11 * k + (0.0 if side == "Left" else 1.3))
        axis = np.array([0.0, 0.0, -1.0 if side == "Left" else 1.0])
        for f in ("Index", "Middle", "Ring", "Little"):
            for s in SEGMENTS:
                q[rig.index(f"{side}{f}{s}")] = Rotation.from_rotvec(axis * np.radians(deg)).as_quat()
        posed = BonePose(0.0, rig, rest.hips_position_m, Rotation.from_quat(q), rest.bone_state)
        world = hand_landmarks_from_pose(posed, side)
        xy = np.tile(pose_frame.image_xy[wrist], (21, 1)) + 0.002 * np.arange(21)[:, None]
        obs.append(HandObservation(world, xy, "Right" if side == "Left" else "Left", 0.9))
    return HandsResult(tuple(obs))


def _face(k: int, rng: np.random.Generator) -> FaceResult:
    weights = np.clip(0.5 + 0.4 * np.sin(0.07 * k + np.arange(len(ARKIT_BLENDSHAPES))), 0.0, 1.0)
    weights = np.clip(weights + rng.normal(0.0, 0.02, weights.shape), 0.0, 1.0)
    m = np.eye(4)
    angles = [25.0 * np.sin(0.05 * k), 8.0 * np.cos(0.09 * k)]
    m[:3, :3] = Rotation.from_euler("YX", angles, degrees=True).as_matrix()
    m[:3, 3] = [1.0, -2.0, -60.0]
    return FaceResult(weights, m, np.array([[0.52, 0.3], [0.48, 0.3]]))


def golden_frames(cmu_bvh_dir: Path) -> list[LandmarkFrame]:
    """The fixed input: 180 frames of CMU 01_01 with noise, a gap without a person, hidden arms, hands, face."""
    motion = read_bvh(cmu_bvh_dir / "01_01.bvh")
    m = mocap_landmarks(motion, frames=FRAMES, camera=VirtualCamera(yaw_deg=20.0, follow=True))
    rig = load_rig("default")
    rng = np.random.default_rng(20261201)
    out = []
    for k, f in enumerate(to_landmark_frames(m)):
        world = f.world_xyz_m + rng.normal(0.0, 0.01, f.world_xyz_m.shape)
        image = f.image_xy + rng.normal(0.0, 0.002, f.image_xy.shape)
        vis = np.clip(f.visibility - rng.uniform(0.0, 0.2, f.visibility.shape), 0.0, 1.0)
        if 60 <= k < 75:  # the left arm out of view
            vis[[L.LEFT_ELBOW, L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY, L.LEFT_THUMB]] = 0.1
        frame = f.replace(world_xyz_m=world, image_xy=image, visibility=vis)
        if 100 <= k < 112:  # nobody for 0.2 s
            frame = LandmarkFrame.no_person(f.t_s, f.image_size, f.frame_index)
        else:
            frame = frame.replace(hands=_hands(rig, frame, k) if k % 7 else None)
        out.append(frame.replace(face=_face(k, rng)) if k % 5 else frame)
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, cmu_bvh_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("golden") / "golden.bridgerec.jsonl"
    header = RecordingHeader(source="golden CMU 01_01", fps=60.0, image_size=(1280, 720), created="fixed")
    with RecordingWriter(path, header) as writer:
        for frame in golden_frames(cmu_bvh_dir):
            writer.write(frame)
    return path


#: Blocks of an output's numbers compared one by one, and their tolerance (relative to the block's magnitudes:
#: float32 holds 7 digits).
BLOCKS = 64
TOLERANCE = 1e-6
_NUMBER = re.compile(rb"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def _fingerprint(layout: bytes, numbers: np.ndarray, data: bytes) -> dict[str, object]:
    """An output's SHA-256, the SHA-256 of all but its numbers, and per block of its numbers (float64) their sum
    and sum of magnitudes."""
    blocks = np.array_split(np.nan_to_num(np.asarray(numbers, dtype=np.float64), nan=0.0), BLOCKS)
    return {
        "sha": hashlib.sha256(data).hexdigest(),
        "layout": hashlib.sha256(layout + str(len(numbers)).encode()).hexdigest(),
        "sums": [[float(b.sum()), float(np.abs(b).sum())] for b in blocks],
    }


def _text(data: bytes) -> dict[str, object]:
    """A text output (BVH, CSV, JSON lines): its decimal numbers, and the text with each replaced by ``#``."""
    numbers = np.array([float(m) for m in _NUMBER.findall(data)])
    return _fingerprint(_NUMBER.sub(b"#", data), numbers, data)


def _glb(data: bytes) -> dict[str, object]:
    """A binary glTF: its JSON chunk as text, its binary chunk as float32 (animation keys and mesh data)."""
    json_len = struct.unpack_from("<I", data, 12)[0]
    text = data[20 : 20 + json_len]
    binary = data[20 + json_len + 8 :]
    numbers = np.concatenate([[float(m) for m in _NUMBER.findall(text)], np.frombuffer(binary, "<f4")])
    return _fingerprint(_NUMBER.sub(b"#", text), numbers, data)


def _datagrams(grams: list[bytes]) -> dict[str, object]:
    """OSC datagrams (messages or bundles): every float argument, and the rest (addresses, type tags, strings,
    integers) as the layout."""
    from pythonosc.osc_packet import OscPacket

    layout, numbers = [], []
    for gram in grams:
        for timed in OscPacket(gram).messages:
            msg = timed.message
            layout.append(msg.address.encode())
            for arg in msg.params:
                if isinstance(arg, float):
                    numbers.append(arg)
                else:
                    layout.append(repr(arg).encode())
    return _fingerprint(b"\0".join(layout), np.array(numbers), b"".join(grams))


def _agree(got: object, expected: object) -> bool:
    """Byte-identical, or identical but for float rounding (see the module docstring)."""
    if not isinstance(got, dict) or not isinstance(expected, dict):
        return got == expected
    if got["sha"] == expected["sha"]:
        return True
    if got["layout"] != expected["layout"]:
        return False
    a, b = np.asarray(got["sums"]), np.asarray(expected["sums"])
    return bool(np.all(np.abs(a[:, 0] - b[:, 0]) <= TOLERANCE * (b[:, 1] + 1e-3)))


def _stream_datagrams(recording: Path, argv: list[str]) -> dict[str, dict[str, object]]:
    """The fingerprints of the VMC and VRChat datagrams of every frame, as ``bridge stream ARGV`` would send them
    (the frame's own timestamp as VMC time, so the bytes do not depend on the clock)."""
    from bridge.tracking.recording import read_recording

    args = build_parser().parse_args(["stream", "--input", str(recording), *argv])
    processor = Processor(load_rig("default"), processor_config_from_args(args))
    vmc: list[bytes] = []
    vrchat: list[bytes] = []
    _, frames = read_recording(recording)
    for frame in frames:
        result = processor(frame)
        pose = result.pose
        assert pose is not None
        vmc += encode_vmc_frame(pose, frame.t_s, VmcConfig(), blendshapes=result.blendshapes)
        vrchat += encode_vrchat_frame(pose, VrchatConfig())
    return {"vmc": _datagrams(vmc), "vrchat": _datagrams(vrchat)}


def outputs(recording: Path, out: Path) -> dict[str, dict[str, object]]:
    """Every golden output's fingerprint (:func:`_fingerprint`)."""
    got: dict[str, dict[str, object]] = {"recording": _text(recording.read_bytes())}
    exports = {
        "export_default": [],
        "export_mirror_m_24fps": ["--mirror", "--unit", "m", "--fps", "24"],
        "export_lifter": ["--lifter", "temporal"],
        "export_nofilter_noflip": ["--no-filter", "--no-flip-repair"],
    }
    for name, extra in exports.items():
        bvh, glb = out / f"{name}.bvh", out / f"{name}.glb"
        assert main(["export", str(recording), "--bvh", str(bvh), "--glb", str(glb), *extra]) == 0
        got[f"{name}.bvh"] = _text(bvh.read_bytes())
        got[f"{name}.glb"] = _glb(glb.read_bytes())
    assert main(["analyze", str(recording), "--out", str(out / "analysis")]) == 0
    got["analyze.csv"] = _text((out / "analysis" / f"{Path(recording.name).stem}_angles.csv").read_bytes())
    streams = {
        "stream_default": ["--blendshapes", "vrm0"],
        "stream_mirror_arkit": ["--mirror", "--blendshapes", "arkit"],
        "stream_lifter_vrm1": ["--lifter", "temporal", "--blendshapes", "vrm1", "--mirror"],
    }
    for name, argv in streams.items():
        for proto, digest in _stream_datagrams(recording, argv).items():
            got[f"{name}.{proto}"] = digest
    return got


@pytest.mark.slow
def test_outputs_are_byte_identical_to_the_golden_ones(recording: Path, tmp_path: Path) -> None:
    got = outputs(recording, tmp_path)
    if os.environ.get("BRIDGE_UPDATE_GOLDEN") or not GOLDEN.is_file():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"golden hashes written to {GOLDEN}: check the change and commit them")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(k for k in set(got) | set(expected) if not _agree(got.get(k), expected.get(k)))
    assert not changed, f"outputs changed: {changed}"
