"""Training pairs with the real tracker's errors: rendered mocap (:mod:`bridge.testing.render`) run through the
real MediaPipe tracker (:mod:`bridge.testing.render_pairs`), each frame's detections next to the exact truth in
MediaPipe's world frame. Material for the refiner lifter (:mod:`bridge.stages.lifter`, ``refine`` models).

Clips are held out by motion (:data:`bridge.testing.lifter_data.HELD_OUT`: CMU ``01_03``, DeepMimic
``dance_b``, ``getup_faceup``, ``kick``): none of their frames is ever trained on.

Pairs are cached as one ``.npz`` per render under :func:`pairs_dir` (``$BRIDGE_LIFTER_PAIRS`` or
``<tmp>/bridge-lifter-pairs``), never in the repository. Arrays per file (T frames of the render):

* ``found`` (T,) bool; ``image_xy`` (T, 33, 2) MediaPipe normalised image coordinates; ``world_xyz_m``
  (T, 33, 3) MediaPipe world landmarks (x right, y down, z away, hip-centred, metres); ``visibility`` (T, 33);
* ``truth_m`` (T, 33, 3): the true landmarks in the same frame (metres); ``image_size`` (2,) pixels;
  ``t_s`` (T,) seconds; ``clip`` the motion's key (``cmu:NAME`` / ``deepmimic:NAME``);
* ``reference_m`` (T, 33, 3), only in pairs rendered as one of several views
  (:mod:`bridge.testing.lifter_data_views`): the reference triangulated from the other views.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, PoseLandmark
from bridge.testing.lifter_data import HELD_OUT

if TYPE_CHECKING:
    from bridge.testing.render import ClipSpec
    from bridge.testing.render_pairs import TrackedRender

FloatArray = npt.NDArray[np.float64]

#: Motions rendered: the CMU clips the renderer maps and pybullet's 15 DeepMimic clips (``load_motion`` names).
CMU_RENDER_CLIPS = ("01_01", "01_03")  # the renderer has no Boxing_Toes mapping
DEEPMIMIC_RENDER_CLIPS = (
    "backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup", "jump", "kick",
    "punch", "roll", "run", "spin", "spinkick", "walk",
)  # fmt: skip


def motion_key(render_clip: str) -> str:
    """``01_03`` → ``cmu:01_03``; ``deepmimic:kick`` stays (the keys of :data:`HELD_OUT`)."""
    return render_clip if render_clip.startswith("deepmimic:") else f"cmu:{render_clip}"


def is_held_out(render_clip: str) -> bool:
    return motion_key(render_clip) in HELD_OUT


def pairs_dir() -> Path:
    """Where pairs are kept: ``$BRIDGE_LIFTER_PAIRS`` or ``<tmp>/bridge-lifter-pairs``."""
    folder = Path(os.environ.get("BRIDGE_LIFTER_PAIRS") or Path(tempfile.gettempdir()) / "bridge-lifter-pairs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class PairSpec:
    """One render to track: a clip, a stretch of it, a camera (see :class:`bridge.testing.render.ClipSpec`)."""

    clip: str
    start_s: float
    duration_s: float
    yaw_deg: float
    camera_height_m: float
    hfov_deg: float
    width: int = 384
    height: int = 216
    shape: str = ""  # the body's shape (bridge.testing.render_mesh.SHAPES)


#: Every rendered motion, CMU first (the order rounds go through them).
RENDER_CLIPS = (*CMU_RENDER_CLIPS, *(f"deepmimic:{n}" for n in DEEPMIMIC_RENDER_CLIPS))


def random_start(rng: np.random.Generator, clip: str, duration_s: float) -> float:
    """A random start (seconds, 3 decimals) of a ``duration_s`` stretch of ``clip`` (CMU clips taken as 30 s
    long, DeepMimic's as 6 s: :func:`fit_start` moves a start past the clip's end back)."""
    longest = 30.0 if not clip.startswith("deepmimic:") else 6.0
    return round(float(rng.uniform(1.0 / 120.0, max(1.0 / 120.0, longest - duration_s))), 3)


def pair_specs(rounds: int, seed: int = 0, duration_s: float = 3.0) -> list[PairSpec]:
    """``rounds`` random cameras per clip, clips interleaved (a partial run still covers every motion):
    yaw all round, camera 0.7–1.9 m high, 45–75° field of view, a random stretch of the clip."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(rounds):
        for c in RENDER_CLIPS:
            start = random_start(rng, c, duration_s)
            yaw = (360.0 * r / max(rounds, 1) + float(rng.uniform(0.0, 360.0 / max(rounds, 1)))) % 360.0
            height = round(float(rng.uniform(0.7, 1.9)), 2)
            hfov = round(float(rng.uniform(45.0, 75.0)), 1)
            out.append(PairSpec(c, round(start, 3), duration_s, round(yaw, 1), height, hfov))
    return out


def clip_spec(spec: PairSpec) -> ClipSpec:
    """The render of ``spec`` (30 fps)."""
    from bridge.testing.render import ClipSpec

    return ClipSpec(spec.clip, spec.start_s, spec.duration_s, 30.0, spec.yaw_deg, spec.camera_height_m,
                    spec.hfov_deg, spec.width, spec.height, spec.shape)  # fmt: skip


def fit_start(spec: PairSpec) -> PairSpec | None:
    """``spec`` with its start moved so that it fits in the clip; None where the clip is too short."""
    from bridge.testing.render import load_motion

    motion, _, _ = load_motion(spec.clip)
    length_s = motion.num_frames * motion.frame_time_s
    if spec.start_s + spec.duration_s <= length_s:
        return spec
    start = max(1.0 / 120.0, length_s - spec.duration_s)
    if start + spec.duration_s > length_s + 1e-6:
        return None
    return dataclasses.replace(spec, start_s=round(start, 3))


def save_pair(path: Path, spec: PairSpec, tracked: TrackedRender, reference_m: FloatArray | None = None) -> None:
    """Save one tracked render (module docstring for the arrays; ``reference_m`` only where given)."""
    size = np.array([spec.width, spec.height], dtype=np.float64)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "found": tracked.found, "image_xy": tracked.image_px / size, "world_xyz_m": tracked.world_xyz_m,
        "visibility": tracked.visibility, "truth_m": tracked.truth_mediapipe_m,
        "image_size": size.astype(np.int64), "t_s": tracked.truth.t_s, "clip": np.array(motion_key(spec.clip)),
    }  # fmt: skip
    if reference_m is not None:
        arrays["reference_m"] = reference_m
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def make_pair(spec: PairSpec, folder: Path | None = None) -> Path | None:
    """Render ``spec``, track it, save the pair (or reuse the saved one). None when the clip is too short."""
    from bridge.core.errors import BridgeError
    from bridge.testing.render import render_clip
    from bridge.testing.render_pairs import track_render

    out = (folder or pairs_dir()) / f"{clip_spec(spec).key()}.npz"
    if out.is_file():
        return out
    fitted = fit_start(spec)
    if fitted is None:
        return None
    try:
        rc = render_clip(clip_spec(fitted))
    except BridgeError:
        return None
    save_pair(out, fitted, track_render(rc))
    return out


@dataclass(frozen=True, eq=False)
class Pair:
    """One tracked render (module docstring for the arrays)."""

    clip: str
    found: npt.NDArray[np.bool_]
    image_xy: FloatArray
    world_xyz_m: FloatArray
    visibility: FloatArray
    truth_m: FloatArray
    image_size: tuple[int, int]
    t_s: FloatArray
    #: (T, 33, 3) the reference triangulated from other views (:mod:`bridge.testing.lifter_data_views`), None
    #: for a pair rendered alone.
    reference_m: FloatArray | None = None


def load_pairs(folder: Path | None = None) -> list[Pair]:
    """Every cached pair, sorted by file name."""
    out = []
    for p in sorted((folder or pairs_dir()).glob("*.npz")):
        with np.load(p) as z:
            out.append(Pair(str(z["clip"]), z["found"].astype(bool), z["image_xy"], z["world_xyz_m"],
                            z["visibility"], z["truth_m"], (int(z["image_size"][0]), int(z["image_size"][1])),
                            z["t_s"], z["reference_m"] if "reference_m" in z.files else None))  # fmt: skip
    return out


def pair_frames(pair: Pair) -> list[LandmarkFrame]:
    """The pair's tracked frames as the tracker hands them on (no-person frames included)."""
    out = []
    for k in range(len(pair.t_s)):
        found = bool(pair.found[k])
        z3, z2 = np.zeros((NUM_LANDMARKS, 3)), np.zeros((NUM_LANDMARKS, 2))
        out.append(LandmarkFrame(
            t_s=float(pair.t_s[k]), world_xyz_m=pair.world_xyz_m[k] if found else z3,
            image_xy=pair.image_xy[k] if found else z2, visibility=pair.visibility[k],
            presence=np.ones(NUM_LANDMARKS), image_size=pair.image_size, person=found, frame_index=k,
        ))  # fmt: skip
    return out


def tracked_runs(pair: Pair, min_frames: int = 10) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive found frames at least ``min_frames`` long (end exclusive)."""
    runs, start = [], None
    for i, f in enumerate([*pair.found.tolist(), False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start >= min_frames:
                runs.append((start, i))
            start = None
    return runs


def found_fraction(pairs: list[Pair]) -> float:
    n = sum(len(p.found) for p in pairs)
    return float(sum(int(p.found.sum()) for p in pairs)) / max(n, 1) if pairs else math.nan


# ------------------------------------------------------------------------------------------- the measures

#: The 12 body landmarks every measure uses (face, hand and foot points are left out: the render's markers and a
#: triangulated reference place them less surely than the joints).
BODY_12 = (
    PoseLandmark.LEFT_SHOULDER, PoseLandmark.RIGHT_SHOULDER, PoseLandmark.LEFT_ELBOW, PoseLandmark.RIGHT_ELBOW,
    PoseLandmark.LEFT_WRIST, PoseLandmark.RIGHT_WRIST, PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP,
    PoseLandmark.LEFT_KNEE, PoseLandmark.RIGHT_KNEE, PoseLandmark.LEFT_ANKLE, PoseLandmark.RIGHT_ANKLE,
)  # fmt: skip
_BODY = np.array([int(i) for i in BODY_12])


#: Limb segments (from, to) and hinges (from, joint, to) of the measures, by landmark.
def _lm(name: str) -> PoseLandmark:
    return PoseLandmark[name]


LIMBS = tuple(
    (_lm(f"{s}_{a}"), _lm(f"{s}_{b}"))
    for s in ("LEFT", "RIGHT")
    for a, b in (("SHOULDER", "ELBOW"), ("ELBOW", "WRIST"), ("HIP", "KNEE"), ("KNEE", "ANKLE"))
)
KNEES = tuple((_lm(f"{s}_HIP"), _lm(f"{s}_KNEE"), _lm(f"{s}_ANKLE")) for s in ("LEFT", "RIGHT"))
ELBOWS = tuple((_lm(f"{s}_SHOULDER"), _lm(f"{s}_ELBOW"), _lm(f"{s}_WRIST")) for s in ("LEFT", "RIGHT"))


def flexion_deg(
    points_m: FloatArray, hinges: tuple[tuple[PoseLandmark, PoseLandmark, PoseLandmark], ...]
) -> FloatArray:
    """(T, H) degrees: 180 minus the angle at each hinge's middle point (0 = straight), of (T, 33, 3) points."""
    out = []
    for a, b, c in hinges:
        u, v = points_m[:, a] - points_m[:, b], points_m[:, c] - points_m[:, b]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        out.append(180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=1)


def _similarity_aligned(pred: FloatArray, true: FloatArray) -> FloatArray:
    """(N, 3) ``pred`` moved by the best rotation, scale and shift onto ``true`` (N, 3)."""
    p0, q0 = pred - pred.mean(axis=0), true - true.mean(axis=0)
    u, _, vt = np.linalg.svd(p0.T @ q0)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    rp = p0 @ r.T
    scale = float((rp * q0).sum() / max((rp * rp).sum(), 1e-12))
    return np.asarray(scale * rp + true.mean(axis=0))


def pose_errors(pred_m: FloatArray, true_m: FloatArray) -> dict[str, float]:
    """The measures of (T, 33, 3) estimates against (T, 33, 3) truth (any frames: each frame is aligned by a
    similarity on :data:`BODY_12`), over frames where both are finite: PA-MPJPE (mm, BODY_12), limb-direction
    error (degrees, :data:`LIMBS` after that alignment), knee and elbow flexion error (degrees, mean absolute),
    jitter (mm/frame² of the hip-centred BODY_12 estimates, consecutive rows) and frames."""
    ok = np.isfinite(pred_m[:, _BODY]).all(axis=(1, 2)) & np.isfinite(true_m[:, _BODY]).all(axis=(1, 2))
    p, t = pred_m[ok], true_m[ok]
    if not len(p):
        return {"pa_mpjpe_mm": math.nan, "limb_deg": math.nan, "knee_deg": math.nan, "elbow_deg": math.nan,
                "jitter_mm": math.nan, "frames": 0.0}  # fmt: skip
    aligned = np.stack([_similarity_aligned(a[_BODY], b[_BODY]) for a, b in zip(p, t, strict=True)])
    pa = float(np.linalg.norm(aligned - t[:, _BODY], axis=-1).mean() * 1000.0)
    pos = {int(j): k for k, j in enumerate(_BODY)}
    dirs = [(aligned[:, pos[int(b)]] - aligned[:, pos[int(a)]], t[:, b] - t[:, a]) for a, b in LIMBS]
    angles = []
    for u, v in dirs:
        cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    knee = float(np.nanmean(np.abs(flexion_deg(p, KNEES) - flexion_deg(t, KNEES))))
    elbow = float(np.nanmean(np.abs(flexion_deg(p, ELBOWS) - flexion_deg(t, ELBOWS))))
    hips = 0.5 * (pred_m[:, PoseLandmark.LEFT_HIP] + pred_m[:, PoseLandmark.RIGHT_HIP])
    centred = pred_m[:, _BODY] - hips[:, None]
    acc = np.linalg.norm(centred[2:] - 2 * centred[1:-1] + centred[:-2], axis=-1)
    jitter = float(np.nanmean(acc) * 1000.0) if np.isfinite(acc).any() else math.nan
    return {"pa_mpjpe_mm": pa, "limb_deg": float(np.mean(angles)), "knee_deg": knee, "elbow_deg": elbow,
            "jitter_mm": jitter, "frames": float(len(p))}  # fmt: skip
